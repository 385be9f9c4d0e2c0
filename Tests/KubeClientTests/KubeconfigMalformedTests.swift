import Foundation
import Testing

@testable import KubeClient

/// Bad kubeconfigs: every error names the file, the field and (when known) the line, and never shows a secret.
@Suite struct KubeconfigMalformedTests {
    /// Strings planted in the test files that must never show up in an error.
    static let secrets = [
        "s3cr3t-token-value", "hunter2-password", "MIIEsuperSecretPrivateKeyMaterial", "c2VjcmV0LWtleQ!!notbase64",
        "987654321012", "url-password-xyz",
    ]

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var context: String? = nil
        var code: KubeconfigError.Code
        /// The field path the error must name, if any.
        var field: String?
        var line: Int?
        var fragments: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "not YAML", yaml: "clusters: [\n  {name: a\n  users: ]\n", code: .malformed, field: nil, line: nil,
            fragments: ["not valid YAML"]),
        Case(
            name: "tabs are not YAML", yaml: "clusters:\n\t- name: a\n", code: .malformed, field: nil, line: nil,
            fragments: ["not valid YAML"]),
        Case(
            name: "unterminated quote around a secret",
            yaml: "users:\n- name: u\n  user:\n    token: \"s3cr3t-token-value\n", code: .malformed, field: nil,
            line: nil, fragments: ["not valid YAML"]),
        Case(
            name: "secret that does not fit its tag",
            yaml: "users:\n- name: u\n  user:\n    token: !!int s3cr3t-token-value\n", code: .malformed, field: nil,
            line: 4, fragments: ["not valid YAML"]),
        Case(
            name: "duplicate key",
            yaml: "users:\n- name: u\n  user:\n    token: s3cr3t-token-value\n    token: hunter2-password\n",
            code: .malformed, field: nil, line: 5, fragments: ["not valid YAML", "duplicate key \"token\""]),
        Case(
            name: "a scalar document", yaml: "just some text\n", code: .malformed, field: nil, line: nil,
            fragments: ["expected a kubeconfig", "a string"]),
        Case(
            name: "clusters is a string", yaml: "current-context: x\nclusters: hello\n", code: .malformed,
            field: "clusters", line: 2, fragments: ["expected a list, got a string"]),
        Case(
            name: "cluster body is a list",
            yaml: "clusters:\n- name: a\n  cluster:\n  - server: https://x\n", code: .malformed,
            field: "clusters[0].cluster", line: 4, fragments: ["expected a mapping, got a list"]),
        Case(
            name: "token is a number",
            yaml: "users:\n- name: u\n  user:\n    token: 987654321012\n", code: .malformed,
            field: "users[0].user.token", line: 4, fragments: ["expected a string, got a number"]),
        Case(
            name: "insecure flag is a string",
            yaml: "clusters:\n- name: a\n  cluster:\n    server: https://x\n    insecure-skip-tls-verify: \"true\"\n",
            code: .malformed, field: "clusters[0].cluster.insecure-skip-tls-verify", line: 5,
            fragments: ["expected true or false"]),
        Case(
            name: "bad base64 in client-key-data",
            yaml: """
                apiVersion: v1
                kind: Config
                clusters:
                - name: a
                  cluster:
                    server: https://x
                users:
                - name: u
                  user:
                    client-certificate-data: \(Fixtures.b64(Fixtures.certPEM))
                    client-key-data: c2VjcmV0LWtleQ!!notbase64
                """,
            code: .malformed, field: "users[0].user.client-key-data", line: 11, fragments: ["not valid base64"]),
        Case(
            name: "bad base64 in certificate-authority-data",
            yaml: "clusters:\n- name: a\n  cluster:\n    server: https://x\n    certificate-authority-data: \"%%%\"\n",
            code: .malformed, field: "clusters[0].cluster.certificate-authority-data", line: 5,
            fragments: ["not valid base64"]),
        Case(
            name: "duplicate user names",
            yaml: "users:\n- name: u\n  user: {token: s3cr3t-token-value}\n- name: u\n  user: {password: hunter2-password}\n",
            code: .malformed, field: "users[1].name", line: 4, fragments: ["duplicate user name \"u\""]),
        Case(
            name: "insecure with CA data",
            yaml: Fixtures.kubeconfig(
                cluster: "    insecure-skip-tls-verify: true\n    certificate-authority-data: \(Fixtures.b64(Fixtures.caPEM))",
                user: "    token: s3cr3t-token-value"),
            code: .invalidField, field: "clusters[0].cluster.insecure-skip-tls-verify", line: 8,
            fragments: ["specifying a root certificates file with the insecure flag is not allowed"]),
        Case(
            name: "insecure with CA file",
            yaml: Fixtures.kubeconfig(
                cluster: "    insecure-skip-tls-verify: true\n    certificate-authority: {CA}",
                user: "    token: s3cr3t-token-value"),
            code: .invalidField, field: "clusters[0].cluster.insecure-skip-tls-verify", line: 8,
            fragments: ["insecure flag is not allowed"]),
        Case(
            name: "server missing",
            yaml: Fixtures.kubeconfig(server: "", user: "    token: s3cr3t-token-value"),
            code: .invalidField, field: "clusters[0].cluster.server", line: nil, fragments: ["has no server URL"]),
        Case(
            name: "server without host",
            yaml: Fixtures.kubeconfig(server: "\"https://\"", user: "    token: s3cr3t-token-value"),
            code: .invalidField, field: "clusters[0].cluster.server", line: 7, fragments: ["not a valid URL"]),
        Case(
            name: "server with unsupported scheme",
            yaml: Fixtures.kubeconfig(server: "ftp://x.example", user: "    token: s3cr3t-token-value"),
            code: .invalidField, field: "clusters[0].cluster.server", line: 7, fragments: ["unsupported URL scheme \"ftp\""]),
        Case(
            name: "server with user information",
            yaml: Fixtures.kubeconfig(server: "https://admin:url-password-xyz@x.example", user: "    token: t"),
            code: .invalidField, field: "clusters[0].cluster.server", line: 7, fragments: ["user information"]),
        Case(
            name: "proxy with unsupported scheme",
            yaml: Fixtures.kubeconfig(cluster: "    proxy-url: ftp://proxy:3128", user: "    token: t"),
            code: .invalidField, field: "clusters[0].cluster.proxy-url", line: 8,
            fragments: ["unsupported scheme \"ftp\", must be http, https, or socks5"]),
        Case(
            name: "certificate without key",
            yaml: Fixtures.kubeconfig(user: "    client-certificate-data: \(Fixtures.b64(Fixtures.certPEM))"),
            code: .invalidField, field: "users[0].user.client-certificate-data", line: nil,
            fragments: ["must both be given", "user \"test-user\""]),
        Case(
            name: "token and basic auth",
            yaml: Fixtures.kubeconfig(user: "    token: s3cr3t-token-value\n    username: admin\n    password: hunter2-password"),
            code: .invalidField, field: "users[0].user.username", line: nil, fragments: ["not both"]),
        Case(
            name: "token with a line break",
            yaml: Fixtures.kubeconfig(user: "    token: \"s3cr3t-token-value\\r\\nX-Injected: 1\""),
            code: .invalidField, field: "users[0].user.token", line: nil, fragments: ["line break"]),
        Case(
            name: "missing CA file",
            yaml: Fixtures.kubeconfig(cluster: "    certificate-authority: certs/missing-ca.crt", user: "    token: t"),
            code: .fileUnreadable, field: "clusters[0].cluster.certificate-authority", line: 8,
            fragments: ["certs/missing-ca.crt", "No such file"]),
        Case(
            name: "missing client key file",
            yaml: Fixtures.kubeconfig(
                user: "    client-certificate-data: \(Fixtures.b64(Fixtures.certPEM))\n    client-key: missing.key"),
            code: .fileUnreadable, field: "users[0].user.client-key", line: nil, fragments: ["missing.key"]),
        Case(
            name: "missing token file",
            yaml: Fixtures.kubeconfig(user: "    tokenFile: /nonexistent/token"),
            code: .fileUnreadable, field: "users[0].user.tokenFile", line: nil, fragments: ["/nonexistent/token"]),
        Case(
            name: "exec without apiVersion",
            yaml: Fixtures.kubeconfig(user: "    exec:\n      command: aws"),
            code: .invalidField, field: "users[0].user.exec.apiVersion", line: nil,
            fragments: ["apiVersion must be specified"]),
        Case(
            name: "exec with a removed apiVersion",
            yaml: Fixtures.kubeconfig(user: "    exec:\n      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: aws"),
            code: .invalidField, field: "users[0].user.exec.apiVersion", line: nil,
            fragments: ["unsupported exec plugin apiVersion"]),
        Case(
            name: "exec v1 without interactiveMode",
            yaml: Fixtures.kubeconfig(user: "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws"),
            code: .invalidField, field: "users[0].user.exec.interactiveMode", line: nil,
            fragments: ["interactiveMode must be specified"]),
        Case(
            name: "exec with bad interactiveMode",
            yaml: Fixtures.kubeconfig(
                user: "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n      interactiveMode: Sometimes"),
            code: .invalidField, field: "users[0].user.exec.interactiveMode", line: nil,
            fragments: ["invalid interactiveMode \"Sometimes\""]),
        Case(
            name: "exec without command",
            yaml: Fixtures.kubeconfig(user: "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1"),
            code: .invalidField, field: "users[0].user.exec.command", line: nil, fragments: ["command must be specified"]),
        Case(
            name: "exec env value is not a string",
            yaml: Fixtures.kubeconfig(
                user: "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      env:\n      - name: TOKEN\n        value: 987654321012"),
            code: .malformed, field: "users[0].user.exec.env[0].value", line: nil, fragments: ["expected a string"]),
        Case(
            name: "legacy auth-provider",
            yaml: Fixtures.kubeconfig(user: "    auth-provider:\n      name: oidc\n      config: {id-token: s3cr3t-token-value}"),
            code: .invalidField, field: "users[0].user.auth-provider", line: nil,
            fragments: ["auth-provider \"oidc\" is not supported", "exec"]),
    ]

    @Test(arguments: cases)
    func malformed(_ c: Case) async throws {
        try await withTempDir { dir in
            try dir.write("ca.crt", Fixtures.caPEM)
            let file = try dir.write("kube/config", c.yaml.replacingOccurrences(of: "{CA}", with: dir.url("ca.crt")))
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: file, context: c.context, environment: testEnvironment(dir))
            }
            let text = error.description
            #expect(error.code == c.code, "\(text)")
            #expect(error.file == file, "\(text)")
            #expect(text.hasPrefix(file + ": "), "\(text)")
            if let field = c.field {
                #expect(error.fieldPath == field, "\(text)")
                #expect(text.contains(": \(field): "), "\(text)")
            }
            if let line = c.line {
                #expect(error.mark?.line == line, "\(text)")
                #expect(text.contains("line \(line), column "), "\(text)")
            }
            for fragment in c.fragments {
                #expect(text.contains(fragment), "\(text) should contain \(fragment)")
            }
            for secret in Self.secrets {
                #expect(!text.contains(secret), "error text leaks a secret: \(text)")
                #expect(!String(reflecting: error).contains(secret))
            }
        }
    }

    @Test(arguments: [
        ("invalid int value \"s3cr3t\" for tag !!int", "invalid int value \"…\" for tag !!int"),
        ("duplicate key \"token\" (first defined at line 3, column 5)", "duplicate key \"token\" (first defined at line 3, column 5)"),
        ("found undefined alias \"x\"", "found undefined alias \"…\""),
        ("unterminated \"abc", "unterminated \"…"),
    ])
    func yamlMessagesAreRedacted(message: String, expected: String) {
        #expect(Kubeconfig.redactQuoted(message) == expected)
    }

    @Test func jsonKubeconfig() async throws {
        try await withTempDir { dir in
            let file = try dir.write(
                "config.json",
                #"{"apiVersion":"v1","kind":"Config","current-context":"j","clusters":[{"name":"c","cluster":{"server":"https://json.example"}}],"contexts":[{"name":"j","context":{"cluster":"c","user":"u","namespace":"json-ns"}}],"users":[{"name":"u","user":{"token":"json-token"}}]}"#)
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
            #expect(config.server == "https://json.example")
            #expect(config.namespace == "json-ns")
            #expect(try await config.credentials.authorization().headerValue == "Bearer json-token")
        }
    }

    @Test func notYAMLHasALine() async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", "current-context: x\nclusters:\n- name: a\n  cluster: {server: [unclosed\n")
            let error = try #require(throws: KubeconfigError.self) {
                try Kubeconfig.load(file: file, environment: testEnvironment(dir))
            }
            #expect(error.code == .malformed)
            #expect(error.mark != nil)
            #expect(error.description.hasPrefix("\(file): line "))
        }
    }

    @Test func notUTF8() async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", bytes: [0x63, 0x3A, 0x20, 0xFF, 0xFE, 0x0A])
            let error = try #require(throws: KubeconfigError.self) {
                try Kubeconfig.load(file: file, environment: testEnvironment(dir))
            }
            #expect(error.description == "\(file): not UTF-8 text")
        }
    }

    @Test func unreadableFile() async throws {
        try await withTempDir { dir in
            try FileManager.default.createDirectory(atPath: dir.url("adir"), withIntermediateDirectories: true)
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: dir.url("adir"), context: nil, environment: testEnvironment(dir))
            }
            #expect(error.code == .fileUnreadable)
            #expect(error.description.contains(dir.url("adir")))
        }
    }

    /// Errors in entries that are not used still fail the load, as in kubectl (the file is decoded whole).
    @Test func errorsInUnusedEntriesStillFail() async throws {
        try await withTempDir { dir in
            let yaml = Fixtures.kubeconfig(user: "    token: t") + "\n- name: other\n  user:\n    client-key-data: \"!!!\"\n"
            let file = try dir.write("config", yaml)
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
            }
            #expect(error.fieldPath == "users[1].user.client-key-data")
        }
    }

    @Test func unknownFieldsAreIgnored() async throws {
        try await withTempDir { dir in
            let file = try dir.write(
                "config",
                """
                apiVersion: v1
                kind: Config
                preferences: {colors: true}
                extensions:
                - name: something
                  extension: {a: 1}
                something-new: [1, 2, 3]
                current-context: test
                clusters:
                - name: test-cluster
                  cluster:
                    server: https://127.0.0.1:6443
                    disable-compression: true
                    future-field: {nested: [x]}
                    extensions:
                    - name: client.authentication.k8s.io/exec
                      extension: {audience: heteroscale}
                contexts:
                - name: test
                  context:
                    cluster: test-cluster
                    user: test-user
                    extensions: []
                    surprise: 42
                users:
                - name: test-user
                  user:
                    token: good-token
                    as: someone
                    as-groups: [a, b]
                    unknown-auth-field: {x: y}
                """)
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
            #expect(config.server == "https://127.0.0.1:6443")
            #expect(try await config.credentials.authorization().headerValue == "Bearer good-token")
            let model = try Kubeconfig.load(file: file, environment: testEnvironment(dir))
            #expect(model.clusters[0].disableCompression)
            #expect(model.clusters[0].extensions.first?.name == "client.authentication.k8s.io/exec")
        }
    }

    @Test(arguments: [
        ("    insecure-skip-tls-verify: true", true),
        ("    insecure-skip-tls-verify: false", false),
        ("    insecure-skip-tls-verify: null", false),
        ("", false),
    ])
    func insecureOnlyWhenExplicitlyTrue(line: String, expected: Bool) async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", Fixtures.kubeconfig(cluster: line, user: "    token: t"))
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
            #expect(config.tls.insecureSkipVerify == expected)
            #expect(config.description.contains("INSECURE") == expected)
        }
    }

    @Test func emptyOrNullFieldsMeanUnset() async throws {
        try await withTempDir { dir in
            let file = try dir.write(
                "config",
                Fixtures.kubeconfig(
                    cluster: "    certificate-authority-data: \"\"\n    proxy-url:\n    tls-server-name: null",
                    user: "    token: t\n    client-certificate: \"\"\n    client-key-data: ~"))
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
            #expect(config.tls.caPEM == nil)
            #expect(config.proxyURL == nil)
            #expect(config.tls.serverName == nil)
            #expect(config.tls.clientCertificatePEM == nil)
        }
    }
}

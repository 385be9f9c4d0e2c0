import Foundation
import Testing

@testable import KubeClient

/// Static credential kinds: client certificates, tokens, token files, basic auth; and redaction.
@Suite struct CredentialAuthTests {
    func load(_ dir: TempDir, _ yaml: String, at relative: String = "kube/config", variables: [String: String] = [:],
              clock: TestClock? = nil) throws -> RESTConfig {
        let file = try dir.write(relative, yaml)
        return try KubeconfigLoader.load(
            kubeconfigPath: file, context: nil, environment: testEnvironment(dir, variables: variables, clock: clock))
    }

    @Test func clientCertificateData() async throws {
        try await withTempDir { dir in
            let config = try load(
                dir,
                Fixtures.kubeconfig(
                    cluster: "    certificate-authority-data: \(Fixtures.b64(Fixtures.caPEM))\n    tls-server-name: api.internal",
                    user: "    client-certificate-data: \(Fixtures.b64(Fixtures.certPEM))\n    client-key-data: \(Fixtures.b64(Fixtures.keyPEM))"))
            #expect(config.tls.clientCertificatePEM == Array(Fixtures.certPEM.utf8))
            #expect(config.tls.clientKeyPEM == Array(Fixtures.keyPEM.utf8))
            #expect(config.tls.caPEM == Array(Fixtures.caPEM.utf8))
            #expect(config.tls.serverName == "api.internal")
            #expect(config.tls.insecureSkipVerify == false)
            #expect(config.credentials.kind == .none)
            #expect(try await config.credentials.authorization() == .none)
            #expect(await config.credentials.invalidate() == false)
        }
    }

    /// File paths resolve against the kubeconfig's own directory, not the current directory.
    @Test(arguments: [
        ("certs/client.crt", "certs/client.key", "certs/ca.crt"),
        ("./certs/client.crt", "../kube/certs/client.key", "certs/../certs/ca.crt"),
        ("{abs}/kube/certs/client.crt", "{abs}/kube/certs/client.key", "{abs}/kube/certs/ca.crt"),
        ("~/home-certs/client.crt", "~/home-certs/client.key", "certs/ca.crt"),
    ])
    func clientCertificateFiles(cert: String, key: String, ca: String) async throws {
        try await withTempDir { dir in
            for base in ["kube/certs", "home/home-certs"] {
                try dir.write("\(base)/client.crt", Fixtures.certPEM)
                try dir.write("\(base)/client.key", Fixtures.keyPEM)
            }
            try dir.write("kube/certs/ca.crt", Fixtures.caPEM)
            func fix(_ s: String) -> String { s.replacingOccurrences(of: "{abs}", with: dir.path) }
            let config = try load(
                dir,
                Fixtures.kubeconfig(
                    cluster: "    certificate-authority: \(fix(ca))",
                    user: "    client-certificate: \(fix(cert))\n    client-key: \(fix(key))"))
            #expect(config.tls.clientCertificatePEM == Array(Fixtures.certPEM.utf8))
            #expect(config.tls.clientKeyPEM == Array(Fixtures.keyPEM.utf8))
            #expect(config.tls.caPEM == Array(Fixtures.caPEM.utf8))
        }
    }

    @Test func dataWinsOverFile() async throws {
        try await withTempDir { dir in
            let config = try load(
                dir,
                Fixtures.kubeconfig(
                    cluster: "    certificate-authority: missing-ca.crt\n    certificate-authority-data: \(Fixtures.b64(Fixtures.caPEM))",
                    user: """
                            client-certificate: missing.crt
                            client-certificate-data: \(Fixtures.b64(Fixtures.certPEM))
                            client-key: missing.key
                            client-key-data: \(Fixtures.b64(Fixtures.keyPEM))
                        """))
            #expect(config.tls.caPEM == Array(Fixtures.caPEM.utf8))
            #expect(config.tls.clientCertificatePEM == Array(Fixtures.certPEM.utf8))
        }
    }

    @Test func bearerToken() async throws {
        try await withTempDir { dir in
            let config = try load(dir, Fixtures.kubeconfig(user: "    token: abc.def.ghi"))
            #expect(config.credentials.kind == .bearerToken)
            #expect(try await config.credentials.authorization().headerValue == "Bearer abc.def.ghi")
            // A static token cannot get better by asking again.
            #expect(await config.credentials.invalidate() == false)
            #expect(try await config.credentials.authorization().headerValue == "Bearer abc.def.ghi")
        }
    }

    @Test func basicAuth() async throws {
        try await withTempDir { dir in
            let config = try load(dir, Fixtures.kubeconfig(user: "    username: admin\n    password: \"p@ss:word\""))
            #expect(config.credentials.kind == .basic(username: "admin"))
            let expected = "Basic " + Data("admin:p@ss:word".utf8).base64EncodedString()
            #expect(try await config.credentials.authorization().headerValue == expected)
            #expect(await config.credentials.invalidate() == false)
        }
    }

    @Test func tokenFileIsReReadWhenItChanges() async throws {
        try await withTempDir { dir in
            try dir.write("kube/tokens/token", "first-token\n")
            let clock = TestClock()
            let config = try load(dir, Fixtures.kubeconfig(user: "    tokenFile: tokens/token"), clock: clock)
            #expect(config.credentials.kind == .tokenFile(path: dir.url("kube/tokens/token")))
            #expect(try await config.credentials.authorization().headerValue == "Bearer first-token")
            // Rewritten in place (different size): noticed through stat.
            try dir.write("kube/tokens/token", "second-token-longer")
            #expect(try await config.credentials.authorization().headerValue == "Bearer second-token-longer")
            // Replaced by rename, the way kubelet rotates projected tokens.
            try dir.write("kube/tokens/token.new", "third-token-value-x")
            #expect(rename(dir.url("kube/tokens/token.new"), dir.url("kube/tokens/token")) == 0)
            #expect(try await config.credentials.authorization().headerValue == "Bearer third-token-value-x")
            #expect(await config.credentials.invalidate() == true)
        }
    }

    @Test func tokenFileIsReReadAfterAMinuteEvenIfStatLooksTheSame() async throws {
        try await withTempDir { dir in
            let path = try dir.write("token", "aaaa")
            let clock = TestClock()
            let credentials = Credentials.tokenFile(path: path, clock: { clock.now })
            #expect(try await credentials.authorization().headerValue == "Bearer aaaa")
            // Same size and (restored) modification time: invisible to stat.
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            try dir.write("token", "bbbb")
            try FileManager.default.setAttributes(
                [.modificationDate: attributes[.modificationDate] as Any], ofItemAtPath: path)
            clock.advance(by: 61)
            #expect(try await credentials.authorization().headerValue == "Bearer bbbb")
        }
    }

    @Test func tokenFileKeepsLastGoodTokenWhenUnreadable() async throws {
        try await withTempDir { dir in
            let path = try dir.write("token", "good-token")
            let credentials = Credentials.tokenFile(path: path)
            #expect(try await credentials.authorization().headerValue == "Bearer good-token")
            try FileManager.default.removeItem(atPath: path)
            #expect(try await credentials.authorization().headerValue == "Bearer good-token")
            _ = await credentials.invalidate()
            let error = try await #require(throws: CredentialError.self) {
                try await credentials.authorization()
            }
            #expect(error.code == .tokenFile)
            #expect(error.description.contains(path))
        }
    }

    @Test func tokenFileFallsBackToStaticToken() async throws {
        try await withTempDir { dir in
            let config = try load(dir, Fixtures.kubeconfig(user: "    token: static-token\n    tokenFile: /nonexistent/token"))
            #expect(config.credentials.kind == .tokenFile(path: "/nonexistent/token"))
            #expect(try await config.credentials.authorization().headerValue == "Bearer static-token")
        }
    }

    @Test func emptyTokenFileIsAnError() async throws {
        try await withTempDir { dir in
            try dir.write("kube/token", "  \n")
            let error = try #require(throws: KubeconfigError.self) {
                try load(dir, Fixtures.kubeconfig(user: "    tokenFile: token"))
            }
            #expect(error.fieldPath == "users[0].user.tokenFile")
            #expect(error.description.contains("is empty"))
        }
    }

    @Test func proxyURLIsKept() async throws {
        for proxy in ["http://proxy.example:3128", "https://proxy.example", "socks5://127.0.0.1:1080"] {
            try await withTempDir { dir in
                let config = try load(dir, Fixtures.kubeconfig(cluster: "    proxy-url: \(proxy)", user: "    token: t"))
                #expect(config.proxyURL == proxy)
            }
        }
    }

    /// client-go: a token, basic auth or client certificate means the exec plugin is not run at all.
    @Test func staticCredentialsWinOverExec() async throws {
        try await withTempDir { dir in
            let config = try load(
                dir,
                Fixtures.kubeconfig(
                    user: """
                            token: static
                            exec:
                              apiVersion: client.authentication.k8s.io/v1beta1
                              command: /nonexistent/plugin
                        """))
            #expect(config.credentials.kind == .bearerToken)
        }
    }

    // MARK: Redaction

    static let secretToken = "s3cr3t-token-value"
    static let secretPassword = "hunter2-password"

    @Test func descriptionsNeverContainSecrets() async throws {
        try await withTempDir { dir in
            let yaml = """
                current-context: a
                clusters:
                - name: c
                  cluster: {server: "https://x.example"}
                contexts:
                - name: a
                  context: {cluster: c, user: token-user}
                - name: b
                  context: {cluster: c, user: basic-user}
                - name: k
                  context: {cluster: c, user: cert-user}
                users:
                - name: token-user
                  user: {token: \(Self.secretToken)}
                - name: basic-user
                  user: {username: admin, password: \(Self.secretPassword)}
                - name: cert-user
                  user:
                    client-certificate-data: \(Fixtures.b64(Fixtures.certPEM))
                    client-key-data: \(Fixtures.b64(Fixtures.keyPEM))
                    exec:
                      apiVersion: client.authentication.k8s.io/v1
                      command: plugin
                      env: [{name: SECRET, value: \(Self.secretToken)}]
                """
            let file = try dir.write("config", yaml)
            let env = testEnvironment(dir)
            let model = try Kubeconfig.load(file: file, environment: env)
            var texts: [String] = []
            for user in model.users {
                texts += [String(describing: user), String(reflecting: user), dumped(user)]
                if let exec = user.exec { texts += [String(describing: exec), String(reflecting: exec), dumped(exec)] }
            }
            for context in ["a", "b", "k"] {
                let config = try KubeconfigLoader.load(kubeconfigPath: file, context: context, environment: env)
                let auth = try await config.credentials.authorization()
                texts += [
                    String(describing: config), String(reflecting: config), dumped(config),
                    String(describing: config.credentials),
                    String(reflecting: config.credentials), dumped(config.credentials),
                    String(describing: auth), String(reflecting: auth), dumped(auth),
                ]
            }
            let keyBase64 = Fixtures.b64(Fixtures.keyPEM)
            let basicHeader = Data("admin:\(Self.secretPassword)".utf8).base64EncodedString()
            for text in texts {
                for secret in [Self.secretToken, Self.secretPassword, "MIIEsuperSecretPrivateKeyMaterial", keyBase64, basicHeader] {
                    #expect(!text.contains(secret), "leaks a secret: \(text)")
                }
            }
            #expect(texts.contains { $0.contains("Bearer <redacted>") })
            #expect(texts.contains { $0.contains("Basic <redacted>") })
        }
    }

    @Test func authorizationDescription() {
        let a = Authorization(
            headerValue: "Bearer \(Self.secretToken)", clientCertificatePEM: Array(Fixtures.certPEM.utf8),
            clientKeyPEM: Array(Fixtures.keyPEM.utf8))
        #expect(a.description == "Authorization(Authorization: Bearer <redacted>, client certificate (\(Fixtures.certPEM.utf8.count) bytes), client key <redacted>)")
        #expect(Authorization.none.description == "Authorization(none)")
    }

    func dumped(_ value: some Any) -> String {
        var out = ""
        dump(value, to: &out)
        return out
    }
}

import Foundation
import Testing

@testable import KubeClient
import YAML

/// Exec credential plugins, run as small shell scripts written into a temporary directory.
@Suite struct CredentialExecTests {
    static func date(_ s: String) -> Date { RFC3339.parse(s)! }

    /// Shell lines that count invocations in `$COUNTER` and leave the count in `$n`.
    static let countInvocation = #"n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$COUNTER""#

    func invocations(_ dir: TempDir) -> Int { Int(dir.read("counter")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "0") ?? 0 }

    /// A plugin that checks what kubectl promises it (exec info, env, args, no stdin) and returns a token.
    static func checkingPlugin(apiVersion: String) -> String {
        #"""
        \#(countInvocation)
        expected='{"apiVersion":"\#(apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}'
        [ "$KUBERNETES_EXEC_INFO" = "$expected" ] || { echo "unexpected KUBERNETES_EXEC_INFO: $KUBERNETES_EXEC_INFO" >&2; exit 11; }
        [ "$PLUGIN_MODE" = "test-mode" ] || { echo "PLUGIN_MODE was not passed" >&2; exit 12; }
        [ "$BASE_VAR" = "inherited" ] || { echo "BASE_VAR was not inherited" >&2; exit 13; }
        [ "$OVERRIDDEN" = "from-kubeconfig" ] || { echo "kubeconfig env did not override" >&2; exit 14; }
        [ $# -eq 2 ] && [ "$1" = "--flag" ] && [ "$2" = "value with spaces" ] || { echo "bad args: $*" >&2; exit 15; }
        [ -t 0 ] && { echo "stdin is a terminal" >&2; exit 16; }
        if IFS= read -r line; then echo "stdin had data" >&2; exit 17; fi
        printf '%s' '{"apiVersion":"\#(apiVersion)","kind":"ExecCredential","status":{"token":"exec-token-'"$n"'"}}'
        """#
    }

    static func kubeconfig(apiVersion: String, command: String, extraExec: String = "", extraCluster: String = "") -> String {
        """
        current-context: test
        clusters:
        - name: test-cluster
          cluster:
            server: https://127.0.0.1:6443
        \(extraCluster)
        contexts:
        - name: test
          context: {cluster: test-cluster, user: test-user}
        users:
        - name: test-user
          user:
            exec:
              apiVersion: \(apiVersion)
              command: \(command)
              args: ["--flag", "value with spaces"]
              env:
              - name: PLUGIN_MODE
                value: test-mode
              - name: OVERRIDDEN
                value: from-kubeconfig
        \(extraExec)
        """
    }

    func environment(_ dir: TempDir, clock: TestClock? = nil, timeout: Double = 20, _ extra: [String: String] = [:]) -> KubeEnvironment {
        var vars = ["COUNTER": dir.url("counter"), "BASE_VAR": "inherited", "OVERRIDDEN": "from-env"]
        vars.merge(extra) { $1 }
        return testEnvironment(dir, variables: vars, clock: clock, execTimeout: timeout)
    }

    // MARK: Running plugins from a kubeconfig

    @Test(arguments: [
        (ExecPlugin.v1, "heteroscale-test-plugin", "bin/heteroscale-test-plugin", "      interactiveMode: Never"),
        (ExecPlugin.v1, "./plugins/p.sh", "kube/plugins/p.sh", "      interactiveMode: IfAvailable"),
        (ExecPlugin.v1beta1, "heteroscale-test-plugin", "bin/heteroscale-test-plugin", ""),
        (ExecPlugin.v1beta1, "../bin/heteroscale-test-plugin", "bin/heteroscale-test-plugin", "      interactiveMode: Never"),
        (ExecPlugin.v1beta1, "{abs}", "bin/heteroscale-test-plugin", ""),
    ])
    func pluginFromKubeconfig(apiVersion: String, command: String, scriptPath: String, extra: String) async throws {
        try await withTempDir { dir in
            let script = try dir.script(scriptPath, Self.checkingPlugin(apiVersion: apiVersion))
            let command = command.replacingOccurrences(of: "{abs}", with: script)
            let file = try dir.write(
                "kube/config", Self.kubeconfig(apiVersion: apiVersion, command: command, extraExec: extra))
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: environment(dir))
            // A command with a slash is a path relative to the kubeconfig; a bare name is looked up in PATH.
            #expect(config.credentials.kind == .execPlugin(command: command.contains("/") ? script : command))
            #expect(try await config.credentials.authorization().headerValue == "Bearer exec-token-1")
            #expect(try await config.credentials.authorization().headerValue == "Bearer exec-token-1")
            #expect(invocations(dir) == 1)
            // A 401 makes the REST client invalidate and retry once: the plugin runs again.
            #expect(await config.credentials.invalidate() == true)
            #expect(try await config.credentials.authorization().headerValue == "Bearer exec-token-2")
            #expect(invocations(dir) == 2)
        }
    }

    @Test func provideClusterInfo() async throws {
        try await withTempDir { dir in
            try dir.script(
                "bin/info-plugin",
                #"""
                printf '%s' "$KUBERNETES_EXEC_INFO" > "$INFO_FILE"
                printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'
                """#)
            let file = try dir.write(
                "kube/config",
                Self.kubeconfig(
                    apiVersion: ExecPlugin.v1, command: "info-plugin",
                    extraExec: "      provideClusterInfo: true\n      interactiveMode: Never",
                    extraCluster: """
                            certificate-authority-data: \(Fixtures.b64(Fixtures.caPEM))
                            tls-server-name: api.internal
                            proxy-url: socks5://127.0.0.1:1080
                            extensions:
                            - name: client.authentication.k8s.io/exec
                              extension: {audience: heteroscale, nested: {list: [1, 2]}}
                            - name: other
                              extension: {ignored: true}
                        """))
            let env = environment(dir, ["INFO_FILE": dir.url("info.json")])
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: env)
            #expect(try await config.credentials.authorization().headerValue == "Bearer t")
            let info = try JSONDecoder().decode(JSONValue.self, from: Data(try #require(dir.read("info.json")).utf8))
            let expected: JSONValue = [
                "apiVersion": "client.authentication.k8s.io/v1",
                "kind": "ExecCredential",
                "spec": [
                    "interactive": false,
                    "cluster": [
                        "server": "https://127.0.0.1:6443",
                        "certificate-authority-data": .string(Fixtures.b64(Fixtures.caPEM)),
                        "tls-server-name": "api.internal",
                        "proxy-url": "socks5://127.0.0.1:1080",
                        "config": ["audience": "heteroscale", "nested": ["list": [1, 2]]],
                    ],
                ],
            ]
            #expect(info == expected)
        }
    }

    // MARK: Caching

    func expiringPlugin(_ dir: TempDir, clock: TestClock, apiVersion: String = ExecPlugin.v1) throws -> Credentials {
        let script = try dir.script(
            "bin/expiring",
            #"""
            \#(Self.countInvocation)
            expiry=$(cat "$EXPIRY_FILE")
            printf '%s' '{"apiVersion":"\#(apiVersion)","kind":"ExecCredential","status":{"token":"tok-'"$n"'","expirationTimestamp":"'"$expiry"'"}}'
            """#)
        let plugin = ExecPlugin(
            apiVersion: apiVersion, command: script, interactiveMode: .never, userName: "u",
            environment: environment(dir, clock: clock, ["EXPIRY_FILE": dir.url("expiry")]))
        return Credentials(execPlugin: plugin)
    }

    @Test func cachedUntilExpiry() async throws {
        try await withTempDir { dir in
            let clock = TestClock(Self.date("2030-01-01T00:00:00Z"))
            try dir.write("expiry", "2030-01-01T01:00:00Z")
            let credentials = try expiringPlugin(dir, clock: clock)
            for _ in 0..<3 {
                #expect(try await credentials.authorization().headerValue == "Bearer tok-1")
            }
            clock.advance(by: 3599)
            #expect(try await credentials.authorization().headerValue == "Bearer tok-1")
            #expect(invocations(dir) == 1)

            // Expired: the plugin runs again, and the new credential is cached until its own expiry.
            clock.advance(by: 2)
            try dir.write("expiry", "2030-01-01T03:00:00.250+01:00")  // = 02:00:00.25Z: fractional seconds and an offset
            #expect(try await credentials.authorization().headerValue == "Bearer tok-2")
            #expect(try await credentials.authorization().headerValue == "Bearer tok-2")
            #expect(invocations(dir) == 2)

            // invalidate() forces a new run even though the credential has not expired.
            #expect(await credentials.invalidate() == true)
            #expect(try await credentials.authorization().headerValue == "Bearer tok-3")
            #expect(invocations(dir) == 3)
        }
    }

    @Test func withoutExpiryCachedUntilInvalidated() async throws {
        try await withTempDir { dir in
            let clock = TestClock()
            try dir.script(
                "bin/forever",
                #"""
                \#(Self.countInvocation)
                printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"tok-'"$n"'"}}'
                """#)
            let credentials = Credentials(execPlugin: ExecPlugin(
                apiVersion: ExecPlugin.v1beta1, command: "forever", environment: environment(dir, clock: clock)))
            #expect(try await credentials.authorization().headerValue == "Bearer tok-1")
            clock.advance(by: 86_400 * 365)
            #expect(try await credentials.authorization().headerValue == "Bearer tok-1")
            #expect(invocations(dir) == 1)
            _ = await credentials.invalidate()
            #expect(try await credentials.authorization().headerValue == "Bearer tok-2")
        }
    }

    @Test func concurrentCallersShareOneRun() async throws {
        try await withTempDir { dir in
            try dir.script(
                "bin/slow",
                #"""
                \#(Self.countInvocation)
                sleep 0.5
                printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-'"$n"'"}}'
                """#)
            let credentials = Credentials(execPlugin: ExecPlugin(
                apiVersion: ExecPlugin.v1, command: "slow", interactiveMode: .never, environment: environment(dir)))
            let headers = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<8 { group.addTask { try await credentials.authorization().headerValue } }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(headers == Array(repeating: "Bearer tok-1", count: 8))
            #expect(invocations(dir) == 1)
        }
    }

    @Test func clientCertificateResult() async throws {
        try await withTempDir { dir in
            try dir.script(
                "bin/cert-plugin",
                #"""
                printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n","clientKeyData":"-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n","expirationTimestamp":"2099-01-01T00:00:00Z"}}'
                """#)
            let credentials = Credentials(execPlugin: ExecPlugin(
                apiVersion: ExecPlugin.v1, command: "cert-plugin", interactiveMode: .never, environment: environment(dir)))
            let auth = try await credentials.authorization()
            #expect(auth.headerValue == nil)
            #expect(auth.clientCertificatePEM == Array("-----BEGIN CERTIFICATE-----\nCERT\n-----END CERTIFICATE-----\n".utf8))
            #expect(auth.clientKeyPEM == Array("-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n".utf8))
            #expect(!auth.description.contains("KEY\n"))
        }
    }

    // MARK: Failures

    struct FailureCase: Sendable, CustomTestStringConvertible {
        var name: String
        var script: String?
        var command: String = "plugin"
        var apiVersion: String = ExecPlugin.v1
        var interactiveMode: ExecPlugin.InteractiveMode = .never
        var installHint: String? = nil
        var timeout: Double = 20
        var code: CredentialError.Code
        var exitCode: Int32? = nil
        var fragments: [String]
        var testDescription: String { name }
    }

    static let secret = "plugin-secret-token-42"

    static let failureCases: [FailureCase] = [
        FailureCase(
            name: "non-zero exit",
            script: #"""
                echo "some stdout \#(secret)"
                echo "error: the session expired; run 'cloud login'" >&2
                exit 7
                """#,
            code: .execFailed, exitCode: 7,
            fragments: ["for user \"test-user\" failed with exit code 7", "the session expired; run 'cloud login'"]),
        FailureCase(
            name: "long stderr is bounded",
            script: #"head -c 20000 /dev/zero | tr '\0' x >&2; exit 1"#,
            code: .execFailed, exitCode: 1, fragments: ["exit code 1", "20000 bytes in all"]),
        FailureCase(
            name: "killed by a signal", script: #"kill -9 $$"#, code: .execFailed, fragments: ["killed by signal 9"]),
        FailureCase(
            name: "command not found, with install hint", script: nil, command: "heteroscale-no-such-plugin",
            installHint: "heteroscale-no-such-plugin is required to authenticate.\nInstall it with: brew install no-such-plugin",
            code: .execNotFound,
            fragments: ["\"heteroscale-no-such-plugin\" not found in PATH", "Install it with: brew install no-such-plugin"]),
        FailureCase(
            name: "path not found", script: nil, command: "/nonexistent/dir/plugin", code: .execNotFound,
            fragments: ["/nonexistent/dir/plugin not found or not executable"]),
        FailureCase(
            name: "wrong apiVersion in output",
            script: #"printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"\#(secret)"}}'"#,
            code: .execInvalidOutput,
            fragments: [
                "configured to use API version client.authentication.k8s.io/v1",
                "returned version \"client.authentication.k8s.io/v1beta1\"",
            ]),
        FailureCase(
            name: "wrong kind",
            script: #"printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"Secret","status":{"token":"\#(secret)"}}'"#,
            code: .execInvalidOutput, fragments: ["returned kind \"Secret\""]),
        FailureCase(
            name: "no status",
            script: #"printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential"}'"#,
            code: .execInvalidOutput, fragments: ["didn't return a status field"]),
        FailureCase(
            name: "empty status",
            script: #"printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}'"#,
            code: .execInvalidOutput, fragments: ["didn't return a token or cert/key pair"]),
        FailureCase(
            name: "certificate without key",
            script: #"printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"C"}}'"#,
            code: .execInvalidOutput, fragments: ["only certificate or key"]),
        FailureCase(
            name: "bad expiration timestamp",
            script: #"printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"\#(secret)","expirationTimestamp":"tomorrow"}}'"#,
            code: .execInvalidOutput, fragments: ["expirationTimestamp is not an RFC 3339 time"]),
        FailureCase(
            name: "output is not JSON", script: #"echo "token=\#(secret)""#, code: .execInvalidOutput,
            fragments: ["not a JSON ExecCredential"]),
        FailureCase(
            name: "no output", script: "exit 0", code: .execInvalidOutput, fragments: ["wrote nothing to stdout"]),
        FailureCase(
            name: "token is not a string",
            script: #"printf '%s' '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":42}}'"#,
            code: .execInvalidOutput, fragments: ["status.token is not a string"]),
        FailureCase(
            name: "interactive mode Always", script: #"echo 1 > "$COUNTER"; exit 1"#, interactiveMode: .always,
            code: .execInteractive, fragments: ["interactiveMode: Always", "non-interactively"]),
        FailureCase(
            name: "timeout", script: "exec sleep 30", timeout: 1, code: .execTimedOut,
            fragments: ["did not finish within 1 s"]),
    ]

    @Test(arguments: failureCases)
    func failures(_ c: FailureCase) async throws {
        try await withTempDir { dir in
            var command = c.command
            if let script = c.script { command = try dir.script("bin/plugin", script) }
            let plugin = ExecPlugin(
                apiVersion: c.apiVersion, command: command, installHint: c.installHint,
                interactiveMode: c.interactiveMode, userName: "test-user", environment: environment(dir, timeout: c.timeout))
            let credentials = Credentials(execPlugin: plugin)
            // No wall-clock bound here: the timeout case asserts the deadline's own error (.execTimedOut),
            // and a timed assertion fails spuriously on a loaded 2-core machine.
            let error = try await #require(throws: CredentialError.self) {
                try await credentials.authorization()
            }
            #expect(error.code == c.code, "\(error)")
            #expect(error.exitCode == c.exitCode)
            for fragment in c.fragments {
                #expect(error.description.contains(fragment), "\(error) should contain \(fragment)")
            }
            #expect(!error.description.contains(Self.secret), "leaks the plugin output: \(error)")
            #expect(error.description.count < 1500)
            if c.code == .execInteractive {
                #expect(invocations(dir) == 0, "the plugin must not have run")
            }
            // Errors are not cached: a later call runs the plugin again (and fails the same way).
            await #expect(throws: CredentialError.self) { try await credentials.authorization() }
        }
    }

    @Test func fileWithoutExecutePermission() async throws {
        try await withTempDir { dir in
            let path = try dir.write("bin/not-executable", "#!/bin/sh\necho hi\n")
            let credentials = Credentials(execPlugin: ExecPlugin(
                apiVersion: ExecPlugin.v1, command: path, interactiveMode: .never, environment: environment(dir)))
            let error = try await #require(throws: CredentialError.self) { try await credentials.authorization() }
            #expect(error.code == .execNotFound)
        }
    }

    @Test(arguments: [
        ("2030-01-01T00:00:00Z", 1_893_456_000.0),
        ("2030-01-01T00:00:00.5Z", 1_893_456_000.5),
        ("2030-01-01T02:00:00+02:00", 1_893_456_000.0),
        ("2029-12-31T19:00:00-05:00", 1_893_456_000.0),
    ])
    func rfc3339(text: String, seconds: Double) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.001)
    }

    @Test func execInfoJSON() {
        let plain = ExecPlugin(apiVersion: ExecPlugin.v1beta1, command: "x", environment: KubeEnvironment(homeDirectory: "/"))
        #expect(plain.execInfoJSON == #"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}"#)
        let withCluster = ExecPlugin(
            apiVersion: ExecPlugin.v1, command: "x", cluster: ["server": "https://h:1/p", "insecure-skip-tls-verify": true],
            environment: KubeEnvironment(homeDirectory: "/"))
        #expect(withCluster.execInfoJSON == #"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"cluster":{"insecure-skip-tls-verify":true,"server":"https://h:1/p"},"interactive":false}}"#)
    }
}

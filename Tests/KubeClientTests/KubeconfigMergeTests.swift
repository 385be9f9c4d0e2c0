import Foundation
import Testing

@testable import KubeClient

/// Where the configuration comes from: --kubeconfig, KUBECONFIG merging, ~/.kube/config, in-cluster.
@Suite struct KubeconfigMergeTests {
    /// Three files that overlap: `shared` cluster/context/user names are defined in a and b, differently.
    static func writeFiles(_ dir: TempDir) throws {
        try dir.write(
            "a/config",
            """
            current-context: ctx-a
            clusters:
            - name: cluster-a
              cluster: {server: "https://a.example:6443"}
            - name: shared
              cluster: {server: "https://shared-from-a:6443"}
            contexts:
            - name: ctx-a
              context: {cluster: cluster-a, user: user-a, namespace: ns-a}
            - name: shared
              context: {cluster: shared, user: shared, namespace: shared-from-a}
            users:
            - name: user-a
              user: {token: token-a}
            - name: shared
              user: {token: shared-token-a}
            """)
        try dir.write(
            "b/config",
            """
            current-context: ctx-b
            clusters:
            - name: cluster-b
              cluster: {server: "https://b.example:6443/"}
            - name: shared
              cluster: {server: "https://shared-from-b:6443"}
            contexts:
            - name: ctx-b
              context: {cluster: cluster-b, user: user-b}
            - name: shared
              context: {cluster: shared, user: shared, namespace: shared-from-b}
            users:
            - name: user-b
              user: {token: token-b}
            - name: shared
              user: {token: shared-token-b}
            """)
        // No current-context: a later file's current-context must be used, this file's entries still win.
        try dir.write(
            "c/config",
            """
            clusters:
            - name: shared
              cluster: {server: "https://shared-from-c:6443"}
            contexts:
            - name: ctx-c
              context: {cluster: shared, user: user-b}
            """)
    }

    struct MergeCase: Sendable, CustomTestStringConvertible {
        var kubeconfig: String  // KUBECONFIG with {dir} placeholders
        var context: String?
        var expectedContext: String
        var expectedServer: String
        var expectedNamespace: String
        var expectedToken: String
        var expectedFiles: [String]
        var testDescription: String { "KUBECONFIG=\(kubeconfig) --context=\(context ?? "-")" }
    }

    static let mergeCases: [MergeCase] = [
        MergeCase(
            kubeconfig: "{dir}/a/config:{dir}/b/config", context: nil, expectedContext: "ctx-a",
            expectedServer: "https://a.example:6443", expectedNamespace: "ns-a", expectedToken: "token-a",
            expectedFiles: ["a/config", "b/config"]),
        MergeCase(
            kubeconfig: "{dir}/b/config:{dir}/a/config", context: nil, expectedContext: "ctx-b",
            expectedServer: "https://b.example:6443", expectedNamespace: "default", expectedToken: "token-b",
            expectedFiles: ["b/config", "a/config"]),
        // The first file defining a name wins, for clusters, contexts and users alike.
        MergeCase(
            kubeconfig: "{dir}/a/config:{dir}/b/config", context: "shared", expectedContext: "shared",
            expectedServer: "https://shared-from-a:6443", expectedNamespace: "shared-from-a",
            expectedToken: "shared-token-a", expectedFiles: ["a/config", "b/config"]),
        MergeCase(
            kubeconfig: "{dir}/b/config:{dir}/a/config", context: "shared", expectedContext: "shared",
            expectedServer: "https://shared-from-b:6443", expectedNamespace: "shared-from-b",
            expectedToken: "shared-token-b", expectedFiles: ["b/config", "a/config"]),
        // Missing files are skipped, empty entries and duplicates ignored.
        MergeCase(
            kubeconfig: "{dir}/missing/config::{dir}/b/config:{dir}/a/config:{dir}/b/config:", context: nil,
            expectedContext: "ctx-b", expectedServer: "https://b.example:6443", expectedNamespace: "default",
            expectedToken: "token-b", expectedFiles: ["b/config", "a/config"]),
        // A file without current-context: the next file's is used, but its own entries still win.
        MergeCase(
            kubeconfig: "{dir}/c/config:{dir}/b/config:{dir}/a/config", context: nil, expectedContext: "ctx-b",
            expectedServer: "https://b.example:6443", expectedNamespace: "default", expectedToken: "token-b",
            expectedFiles: ["c/config", "b/config", "a/config"]),
        MergeCase(
            kubeconfig: "{dir}/c/config:{dir}/b/config:{dir}/a/config", context: "shared",
            expectedContext: "shared", expectedServer: "https://shared-from-c:6443",
            expectedNamespace: "shared-from-b", expectedToken: "shared-token-b",
            expectedFiles: ["c/config", "b/config", "a/config"]),
        // A context from one file using a user from another.
        MergeCase(
            kubeconfig: "{dir}/c/config:{dir}/b/config", context: "ctx-c", expectedContext: "ctx-c",
            expectedServer: "https://shared-from-c:6443", expectedNamespace: "default", expectedToken: "token-b",
            expectedFiles: ["c/config", "b/config"]),
    ]

    @Test(arguments: mergeCases)
    func kubeconfigListMerging(_ c: MergeCase) async throws {
        try await withTempDir { dir in
            try Self.writeFiles(dir)
            let env = testEnvironment(dir, variables: ["KUBECONFIG": c.kubeconfig.replacingOccurrences(of: "{dir}", with: dir.path)])
            let config = try KubeconfigLoader.load(kubeconfigPath: nil, context: c.context, environment: env)
            #expect(config.contextName == c.expectedContext)
            #expect(config.server == c.expectedServer)
            #expect(config.namespace == c.expectedNamespace)
            #expect(try await config.credentials.authorization().headerValue == "Bearer \(c.expectedToken)")
            let merged = try KubeconfigLoader.loadKubeconfig(kubeconfigPath: nil, environment: env)
            #expect(merged.files == c.expectedFiles.map(dir.url))
        }
    }

    @Test func mergedEntriesRememberTheirFile() async throws {
        try await withTempDir { dir in
            try Self.writeFiles(dir)
            let env = testEnvironment(dir, variables: ["KUBECONFIG": "\(dir.url("b/config")):\(dir.url("a/config"))"])
            let merged = try KubeconfigLoader.loadKubeconfig(kubeconfigPath: nil, environment: env)
            #expect(merged.currentContext == "ctx-b")
            #expect(merged.currentContextFile == dir.url("b/config"))
            #expect(merged.cluster(named: "shared")?.source.file == dir.url("b/config"))
            #expect(merged.cluster(named: "cluster-a")?.source.file == dir.url("a/config"))
            #expect(merged.cluster(named: "cluster-a")?.source.path == "clusters[0]")
            #expect(merged.user(named: "user-a")?.source.file == dir.url("a/config"))
            #expect(merged.contexts.map(\.name) == ["ctx-b", "shared", "ctx-a"])
        }
    }

    @Test func explicitPathWinsOverKUBECONFIG() async throws {
        try await withTempDir { dir in
            try Self.writeFiles(dir)
            let env = testEnvironment(dir, variables: ["KUBECONFIG": dir.url("a/config")])
            let config = try KubeconfigLoader.load(kubeconfigPath: dir.url("b/config"), context: nil, environment: env)
            #expect(config.contextName == "ctx-b")
            #expect(config.source == "kubeconfig \(dir.url("b/config"))")
            // Only that file: a context defined only in a/config is unknown.
            #expect(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: dir.url("b/config"), context: "ctx-a", environment: env)
            }
        }
    }

    @Test func explicitPathRelativeToCurrentDirectory() async throws {
        try await withTempDir { dir in
            try Self.writeFiles(dir)
            try FileManager.default.createDirectory(atPath: dir.url("cwd"), withIntermediateDirectories: true)
            let env = testEnvironment(dir)
            let config = try KubeconfigLoader.load(kubeconfigPath: "../b/config", context: nil, environment: env)
            #expect(config.contextName == "ctx-b")
        }
    }

    @Test func explicitPathMustExist() async throws {
        try await withTempDir { dir in
            try Self.writeFiles(dir)
            let env = testEnvironment(dir, variables: ["KUBECONFIG": dir.url("a/config")])
            let missing = dir.url("nope/config")
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: missing, context: nil, environment: env)
            }
            #expect(error.code == .fileNotFound)
            #expect(error.description.contains(missing))
            #expect(error.description.contains("--kubeconfig"))
        }
    }

    @Test func homeFallback() async throws {
        try await withTempDir { dir in
            try dir.write(
                "home/.kube/config",
                Fixtures.kubeconfig(server: "https://home.example:6443", user: "    token: home-token"))
            for variables in [[:], ["KUBECONFIG": ""], ["KUBECONFIG": ":"]] {
                let env = testEnvironment(dir, variables: variables)
                let config = try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env)
                #expect(config.server == "https://home.example:6443")
                #expect(config.source == "kubeconfig \(dir.url("home/.kube/config"))")
            }
        }
    }

    @Test func kubeconfigListReplacesHome() async throws {
        try await withTempDir { dir in
            try Self.writeFiles(dir)
            try dir.write("home/.kube/config", Fixtures.kubeconfig(user: "    token: home-token"))
            let env = testEnvironment(dir, variables: ["KUBECONFIG": dir.url("a/config")])
            let merged = try KubeconfigLoader.loadKubeconfig(kubeconfigPath: nil, environment: env)
            #expect(merged.files == [dir.url("a/config")])
        }
    }

    // MARK: In-cluster

    static func writeServiceAccount(_ dir: TempDir, token: String = "sa-token-1", namespace: String? = "heteroscale-system") throws {
        let sa = "root/var/run/secrets/kubernetes.io/serviceaccount"
        try dir.write("\(sa)/token", token + "\n")
        try dir.write("\(sa)/ca.crt", Fixtures.caPEM)
        if let namespace { try dir.write("\(sa)/namespace", namespace) }
    }

    @Test(arguments: [
        ("fd00::1", "443", "https://[fd00::1]:443"),
        ("10.96.0.1", "443", "https://10.96.0.1:443"),
        ("2001:db8::10", "6443", "https://[2001:db8::10]:6443"),
    ])
    func inClusterFallback(host: String, port: String, expectedServer: String) async throws {
        try await withTempDir { dir in
            try Self.writeServiceAccount(dir)
            let env = testEnvironment(dir, variables: ["KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port])
            let config = try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env)
            #expect(config.server == expectedServer)
            #expect(config.source == "in-cluster")
            #expect(config.namespace == "heteroscale-system")
            #expect(config.tls.caPEM == Array(Fixtures.caPEM.utf8))
            #expect(config.tls.insecureSkipVerify == false)
            let sa = "root/var/run/secrets/kubernetes.io/serviceaccount"
            #expect(config.credentials.kind == .tokenFile(path: dir.url("\(sa)/token")))
            #expect(try await config.credentials.authorization().headerValue == "Bearer sa-token-1")
        }
    }

    @Test func inClusterNamespaceSources() async throws {
        try await withTempDir { dir in
            try Self.writeServiceAccount(dir, namespace: nil)
            var env = testEnvironment(dir, variables: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"])
            #expect(try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env).namespace == "default")
            try Self.writeServiceAccount(dir, namespace: "from-file\n")
            #expect(try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env).namespace == "from-file")
            env.variables["POD_NAMESPACE"] = "from-env"
            #expect(try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env).namespace == "from-env")
            let overridden = try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, namespace: "flag", environment: env)
            #expect(overridden.namespace == "flag")
        }
    }

    @Test func inClusterTokenIsReReadWhenRotated() async throws {
        try await withTempDir { dir in
            try Self.writeServiceAccount(dir, token: "first")
            let env = testEnvironment(dir, variables: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"])
            let config = try InClusterConfig.load(environment: env)
            #expect(try await config.credentials.authorization().headerValue == "Bearer first")
            try Self.writeServiceAccount(dir, token: "second-rotated")
            #expect(try await config.credentials.authorization().headerValue == "Bearer second-rotated")
        }
    }

    @Test func inClusterWithoutCAUsesSystemTrust() async throws {
        try await withTempDir { dir in
            try Self.writeServiceAccount(dir)
            try FileManager.default.removeItem(atPath: InClusterConfig.caPath(environment: testEnvironment(dir)))
            let env = testEnvironment(dir, variables: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"])
            let config = try InClusterConfig.load(environment: env)
            #expect(config.tls.caPEM == nil)
        }
    }

    @Test(arguments: [
        (["KUBERNETES_SERVICE_HOST": "10.0.0.1"], "KUBERNETES_SERVICE_PORT must be defined"),
        (["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "https"], "not a port number"),
    ])
    func inClusterErrors(variables: [String: String], message: String) async throws {
        try await withTempDir { dir in
            try Self.writeServiceAccount(dir)
            let error = try #require(throws: KubeconfigError.self) {
                try InClusterConfig.load(environment: testEnvironment(dir, variables: variables))
            }
            #expect(error.code == .inCluster)
            #expect(error.description.contains(message))
        }
    }

    @Test func kubeconfigBeatsInCluster() async throws {
        try await withTempDir { dir in
            try Self.writeServiceAccount(dir)
            try dir.write("home/.kube/config", Fixtures.kubeconfig(server: "https://home.example", user: "    token: t"))
            let env = testEnvironment(dir, variables: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"])
            let config = try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env)
            #expect(config.server == "https://home.example")
        }
    }

    @Test func kubeconfigListOfMissingFilesFallsBackToInCluster() async throws {
        try await withTempDir { dir in
            try Self.writeServiceAccount(dir)
            let env = testEnvironment(dir, variables: [
                "KUBECONFIG": dir.url("missing1") + ":" + dir.url("missing2"),
                "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443",
            ])
            let config = try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env)
            #expect(config.source == "in-cluster")
        }
    }

    @Test func nothingFound() async throws {
        try await withTempDir { dir in
            let env = testEnvironment(dir)
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env)
            }
            #expect(error.code == .noConfiguration)
            #expect(error.description.contains(dir.url("home/.kube/config")))
            #expect(error.description.contains("KUBERNETES_SERVICE_HOST"))
            #expect(error.description.contains("--kubeconfig"))

            // In-cluster variables but no token file.
            let env2 = testEnvironment(dir, variables: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"])
            let error2 = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env2)
            }
            #expect(error2.code == .noConfiguration)
            #expect(error2.description.contains("serviceaccount/token"))
        }
    }

    @Test func emptyKubeconfigCountsAsNothing() async throws {
        try await withTempDir { dir in
            let empty = try dir.write("empty", "")
            let env = testEnvironment(dir, variables: ["KUBECONFIG": empty])
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: nil, context: nil, environment: env)
            }
            #expect(error.code == .noConfiguration)
            #expect(error.description.contains("defines no clusters"))
        }
    }
}

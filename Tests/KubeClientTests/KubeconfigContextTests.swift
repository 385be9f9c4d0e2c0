import Foundation
import Testing

@testable import KubeClient

/// Choosing the context, its cluster, user and namespace.
@Suite struct KubeconfigContextTests {
    static let config = """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
        - name: dev-cluster
          cluster:
            server: https://dev.example:6443
        - name: prod-cluster
          cluster:
            server: https://prod.example
        contexts:
        - name: dev
          context:
            cluster: dev-cluster
            user: dev-user
            namespace: team-a
        - name: prod
          context:
            cluster: prod-cluster
            user: prod-user
        - name: anonymous
          context:
            cluster: prod-cluster
        - name: no-such-cluster
          context:
            cluster: gone-cluster
            user: dev-user
        - name: no-such-user
          context:
            cluster: dev-cluster
            user: gone-user
        - name: no-cluster
          context:
            user: dev-user
        users:
        - name: dev-user
          user:
            token: dev-token
        - name: prod-user
          user:
            token: prod-token
        """

    struct Case: Sendable, CustomTestStringConvertible {
        var context: String?
        var namespace: String?
        var expectedContext: String
        var expectedServer: String
        var expectedNamespace: String
        var expectedUser: String?
        var testDescription: String { "--context=\(context ?? "-") --namespace=\(namespace ?? "-")" }
    }

    @Test(arguments: [
        Case(context: nil, namespace: nil, expectedContext: "dev", expectedServer: "https://dev.example:6443",
             expectedNamespace: "team-a", expectedUser: "dev-user"),
        Case(context: "", namespace: "", expectedContext: "dev", expectedServer: "https://dev.example:6443",
             expectedNamespace: "team-a", expectedUser: "dev-user"),
        Case(context: "prod", namespace: nil, expectedContext: "prod", expectedServer: "https://prod.example",
             expectedNamespace: "default", expectedUser: "prod-user"),
        Case(context: nil, namespace: "override", expectedContext: "dev", expectedServer: "https://dev.example:6443",
             expectedNamespace: "override", expectedUser: "dev-user"),
        Case(context: "prod", namespace: "override", expectedContext: "prod", expectedServer: "https://prod.example",
             expectedNamespace: "override", expectedUser: "prod-user"),
        Case(context: "anonymous", namespace: nil, expectedContext: "anonymous", expectedServer: "https://prod.example",
             expectedNamespace: "default", expectedUser: nil),
    ])
    func selection(_ c: Case) async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", Self.config)
            let env = testEnvironment(dir)
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: c.context, namespace: c.namespace, environment: env)
            #expect(config.contextName == c.expectedContext)
            #expect(config.server == c.expectedServer)
            #expect(config.namespace == c.expectedNamespace)
            #expect(config.userName == c.expectedUser)
            if c.expectedUser == nil {
                #expect(config.credentials.kind == .none)
                #expect(try await config.credentials.authorization() == .none)
            }
        }
    }

    @Test(arguments: [
        ("missing", KubeconfigError.Code.contextNotFound, ["context \"missing\"", "--context", "available: dev, prod"]),
        ("no-such-cluster", .clusterNotFound, ["context \"no-such-cluster\"", "cluster \"gone-cluster\"", "line 26", "contexts[3].context.cluster"]),
        ("no-such-user", .userNotFound, ["context \"no-such-user\"", "user \"gone-user\"", "line 31", "contexts[4].context.user"]),
        ("no-cluster", .clusterNotFound, ["context \"no-cluster\" names no cluster"]),
    ])
    func contextErrors(context: String, code: KubeconfigError.Code, fragments: [String]) async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", Self.config)
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: file, context: context, environment: testEnvironment(dir))
            }
            #expect(error.code == code)
            #expect(error.description.contains(file))
            for fragment in fragments {
                #expect(error.description.contains(fragment), "\(error) should contain \(fragment)")
            }
        }
    }

    @Test func unknownCurrentContext() async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", Self.config.replacingOccurrences(of: "current-context: dev", with: "current-context: stale"))
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
            }
            #expect(error.code == .contextNotFound)
            #expect(error.description.contains("context \"stale\""))
            #expect(error.description.contains("current-context"))
        }
    }

    @Test func noCurrentContext() async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", Self.config.replacingOccurrences(of: "current-context: dev\n", with: ""))
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
            }
            #expect(error.code == .noCurrentContext)
            #expect(error.description.contains("no current-context"))
            #expect(error.description.contains("--context"))
            #expect(error.description.contains(file))
            // Naming a context works without current-context.
            let config = try KubeconfigLoader.load(kubeconfigPath: file, context: "prod", environment: testEnvironment(dir))
            #expect(config.contextName == "prod")
        }
    }

    @Test func contextOverrideWithoutAnyKubeconfigIsAnError() async throws {
        try await withTempDir { dir in
            let error = try #require(throws: KubeconfigError.self) {
                try KubeconfigLoader.load(kubeconfigPath: nil, context: "dev", environment: testEnvironment(dir))
            }
            #expect(error.code == .noConfiguration)
        }
    }

    @Test func modelExposesEntries() async throws {
        try await withTempDir { dir in
            let file = try dir.write("config", Self.config)
            let model = try KubeconfigLoader.loadKubeconfig(kubeconfigPath: file, environment: testEnvironment(dir))
            #expect(model.files == [file])
            #expect(model.currentContext == "dev")
            #expect(model.clusters.map(\.name) == ["dev-cluster", "prod-cluster"])
            #expect(model.users.map(\.name) == ["dev-user", "prod-user"])
            #expect(model.context(named: "dev")?.namespace == "team-a")
            #expect(model.context(named: "dev")?.source.mark?.line == 12)
        }
    }

    @Test func serverDefaultsAndTrailingSlash() async throws {
        let cases: [(server: String, cluster: String, expected: String)] = [
            ("https://h.example:6443/", "", "https://h.example:6443"),
            ("https://h.example/k8s/clusters/c-1/", "", "https://h.example/k8s/clusters/c-1"),
            ("h.example:6443", "", "http://h.example:6443"),
            ("h.example:6443", "    insecure-skip-tls-verify: true", "https://h.example:6443"),
            ("\"https://[fd00::1]:6443\"", "", "https://[fd00::1]:6443"),
        ]
        try await withTempDir { dir in
            for c in cases {
                let file = try dir.write("config", Fixtures.kubeconfig(server: c.server, cluster: c.cluster, user: "    token: t"))
                let config = try KubeconfigLoader.load(kubeconfigPath: file, context: nil, environment: testEnvironment(dir))
                #expect(config.server == c.expected)
            }
        }
    }
}

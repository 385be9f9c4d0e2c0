import Foundation
import Testing
import TestSupport
import KubeAPI

@testable import KubeClient

/// `Doctor.check` against a small fake API server (Python, loopback) in several modes.
@Suite(.serialized) struct DoctorTests {
    static func client(_ server: TestHTTPServer, mode: String, token: String = "good") -> RESTClient {
        RESTClient(config: RESTConfig(server: "\(server.base)/fake/\(mode)", credentials: .bearerToken(token),
                                      namespace: "team-a", source: "test"))
    }

    @Test func allGood() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "ok"))
        #expect(report.serverVersion == "v1.32.0-fake")
        #expect(report.crds.map(\.installed) == [true, true])
        #expect(report.permissions.count == Doctor.requiredPermissions.count)
        #expect(report.permissions.allSatisfy { $0.allowed == true })
        #expect(report.problems == 0)
    }

    @Test func missingCRDsAreReported() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "nocrds"))
        #expect(report.crds.map(\.name) == ["podautoscalers", "deploymentgroups"])
        #expect(report.crds.allSatisfy { !$0.installed })
        #expect(report.problems == 2)
    }

    @Test func deniedPermissionsAreListed() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "denied"))
        let denied = report.permissions.filter { $0.allowed == false }.map(\.label)
        #expect(denied == ["get coordination.k8s.io/leases (namespace team-a)", "create coordination.k8s.io/leases (namespace team-a)",
                           "update coordination.k8s.io/leases (namespace team-a)"])
        #expect(report.problems == 3)
    }

    /// The controller lists and watches PodAutoscalers and pods in all namespaces: a namespace-only grant
    /// (a RoleBinding) is not enough unless it runs with --namespace.
    @Test func clusterWideListAndWatchAreChecked() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "nsonly"))
        let denied = report.permissions.filter { $0.allowed == false }.map(\.label)
        #expect(denied == ["list heteroscale.io/podautoscalers (all namespaces)", "watch heteroscale.io/podautoscalers (all namespaces)",
                           "list pods (all namespaces)", "watch pods (all namespaces)"])
        #expect(report.problems == 4)
        // As for `heteroscale controller --namespace team-b`: asked in that namespace, granted.
        let scoped = try await Doctor.check(Self.client(server, mode: "nsonly"), watchNamespace: "team-b")
        #expect(scoped.problems == 0)
        #expect(scoped.permissions.filter { $0.verb == "watch" }.map(\.namespace) == ["team-b", "team-b"])
    }

    /// With the DeploymentGroup controller enabled its permissions are checked too; Nodes are cluster-scoped, so
    /// `--namespace` does not narrow them and a namespace-only grant is not enough.
    @Test func deploymentGroupPermissionsAndClusterScopedNodes() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let all = try await Doctor.check(Self.client(server, mode: "ok"), deploymentGroups: true)
        #expect(all.permissions.count == Doctor.requiredPermissions.count + Doctor.deploymentGroupPermissions.count)
        #expect(all.problems == 0)
        let scoped = try await Doctor.check(Self.client(server, mode: "nsonly"), watchNamespace: "team-b", deploymentGroups: true)
        #expect(scoped.permissions.filter { $0.allowed == false }.map(\.label) == ["list nodes (cluster)", "watch nodes (cluster)"])
        #expect(scoped.permissions.filter { $0.resource == "deployments" && $0.verb == "watch" }.map(\.namespace) == ["team-b"])
    }

    /// Leases are checked where the Lease lives, and a denied permission says what grants it.
    @Test func leasesAreCheckedInTheLeaderElectionNamespaceWithAFix() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "denied"), leaseNamespace: "ops")
        let denied = report.permissions.filter { $0.allowed == false }
        #expect(denied.map(\.label) == ["get coordination.k8s.io/leases (namespace ops)", "create coordination.k8s.io/leases (namespace ops)",
                                         "update coordination.k8s.io/leases (namespace ops)"])
        #expect(denied.allSatisfy { $0.fix.contains("--leader-election-namespace") && $0.fix.contains("namespace ops") })
        let wide = try await Doctor.check(Self.client(server, mode: "nsonly"))
        #expect(wide.permissions.filter { $0.allowed == false }.allSatisfy { $0.fix.contains("ClusterRoleBinding") && $0.fix.contains("--namespace") })
    }

    /// Without `get pods/proxy`: `apiserver` cannot scrape at all (a problem, with what grants it), `auto` has no
    /// fallback (a warning), `direct` does not ask.
    @Test(arguments: [ScrapeVia.direct, .apiserver, .auto])
    func aDeniedPodProxyMattersOnlyToTheModesThatUseIt(mode: ScrapeVia) async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "noproxy"), scrapeVia: mode)
        #expect(report.permissions.allSatisfy { $0.allowed == true })
        switch mode {
        case .direct:
            #expect(report.podProxy == nil && report.problems == 0 && report.warnings.isEmpty)
        case .apiserver:
            #expect(report.podProxy?.allowed == false && report.problems == 1)
            #expect(report.podProxy?.fix.contains("scrapeVia: apiserver or auto") == true, "\(report.podProxy?.fix ?? "")")
            #expect(report.scrapeSummary.hasSuffix("but get pods/proxy is not allowed"))
        case .auto:
            #expect(report.podProxy?.allowed == false && report.problems == 0)
            #expect(report.warnings.count == 1 && report.warnings[0].hasPrefix("get pods/proxy is not allowed: --scrape-via auto cannot fall back"))
            #expect(report.scrapeSummary.contains("no fallback"))
        }
    }

    @Test func anOlderServerThanSupportedIsAWarning() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "old"))
        #expect(report.serverVersion == "v1.27.3-eks-1234")
        #expect(report.serverMinorVersion?.minor == 27)
        #expect(report.warnings == [
            "the server is Kubernetes 1.27, older than the minimum supported 1.28: the CRDs will not install "
                + "(their x-kubernetes-validations use fieldPath, new in 1.28); upgrade the cluster",
        ])
        #expect(try await Doctor.check(Self.client(server, mode: "ok")).warnings.isEmpty)
    }

    @Test(arguments: [
        ("1", "28", nil, false), ("1", "27+", nil, true), (nil, nil, "v1.26.15-gke.1", true), (nil, nil, "v1.31.0", false),
        ("2", "0", nil, false), ("1", "9", nil, true),
    ] as [(String?, String?, String?, Bool)])
    func versionsAreComparedWithTheMinimum(major: String?, minor: String?, git: String?, older: Bool) throws {
        let v = try #require(SupportedKubernetes.version(major: major, minor: minor, gitVersion: git))
        #expect(SupportedKubernetes.isOlderThanMinimum(v) == older)
    }

    /// A URL that serves a web page (a dashboard, a proxy) gives one line, not the page.
    @Test(arguments: [
        ("html", "GET /version answered 200 with an HTML page (\"Welcome to nginx!\")"),
        ("html401", "GET /version answered 401 with an HTML page (\"401 Authorization Required\")"),
    ])
    func aNonKubernetesServerGivesOneLine(mode: String, fragment: String) async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let client = Self.client(server, mode: mode)
        await #expect {
            _ = try await Doctor.check(client)
        } throws: { error in
            let text = Doctor.explain(error, server: client.config.server)
            return text == "\(client.config.server) is not a Kubernetes API server: \(fragment); check the server URL of the kubeconfig's cluster (clusters[].cluster.server)"
                && !text.contains("\n") && !text.contains("lorem")
        }
    }

    @Test func noPodAutoscalersMeansNothingToProbe() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let report = try await Doctor.check(Self.client(server, mode: "ok"))
        #expect(report.podProbes.isEmpty)
        #expect(report.podProbeNote == "no PodAutoscalers yet, so no pods to probe")
    }

    @Test(arguments: [
        ("unauth", "good", "401 Unauthorized"),
        ("ok", "wrong-token", "401 Unauthorized"),
        ("forbidden", "good", "403 Forbidden"),
    ])
    func refusedCredentialsGiveAClearError(mode: String, token: String, expected: String) async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let client = Self.client(server, mode: mode, token: token)
        do {
            _ = try await Doctor.check(client)
            Issue.record("expected \(expected)")
        } catch {
            let text = Doctor.explain(error, server: client.config.server)
            #expect(text.contains(expected))
            #expect(!text.contains(token) || token == "good")
        }
    }

    @Test func unreachableServer() async throws {
        let server = try await TestHTTPServer()
        let port = server.port
        server.stop()
        let client = RESTClient(config: RESTConfig(server: "http://127.0.0.1:\(port)", namespace: "default", source: "test"))
        await #expect {
            _ = try await Doctor.check(client)
        } throws: { error in
            Doctor.explain(error, server: client.config.server).contains("is unreachable")
        }
    }

    @Test func statusBodiesDecodeIntoTypedErrors() {
        let body = #"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404}"#
        let e = KubeAPIError(response: HTTPResponse(status: 404, headers: [:], body: Array(body.utf8)), method: "GET", path: "/api/v1/namespaces/a/pods/x")
        #expect(e.isNotFound)
        #expect(e.reason == "NotFound")
        #expect(e.message == #"pods "x" not found"#)
        let throttled = KubeAPIError(response: HTTPResponse(status: 429, headers: ["Retry-After": "3"], body: Array("slow down".utf8)), method: "GET", path: "/x")
        #expect(throttled.reason == "TooManyRequests")
        #expect(throttled.retryAfterSeconds == 3)
        #expect(throttled.message == "slow down")
    }
}

/// `heteroscale doctor` as a user runs it (the built executable) against the fake API server.
@Suite(.serialized) struct DoctorCommandTests {
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("heteroscale").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/heteroscale").path
    }

    /// Runs `heteroscale doctor` against `/fake/MODE`; returns the exit status and the merged output.
    static func doctor(_ server: TestHTTPServer, mode: String) async throws -> (status: Int32, output: String) {
        let dir = try TestDirectory("doctor")
        defer { dir.cleanup() }
        try dir.write("kubeconfig", """
            apiVersion: v1
            kind: Config
            clusters: [{name: fake, cluster: {server: "\(server.base)/fake/\(mode)"}}]
            users: [{name: u, user: {token: good}}]
            contexts: [{name: fake, context: {cluster: fake, user: u, namespace: team-a}}]
            current-context: fake
            """)
        let p = try TestProcess(binary, ["doctor", "--kubeconfig", dir.path("kubeconfig")])
        await p.waitForExit()
        #expect(!p.process.isRunning, "doctor did not exit within 30 s")
        if p.process.isRunning { p.stop() }
        return (p.process.terminationStatus, p.output)
    }

    @Test func aWebPageInsteadOfAnAPIServerIsOneLine() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let (status, output) = try await Self.doctor(server, mode: "html")
        #expect(status == 2)
        let errors = output.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errors == ["error: \(server.base)/fake/html is not a Kubernetes API server: GET /version answered 200 with an HTML page (\"Welcome to nginx!\"); check the server URL of the kubeconfig's cluster (clusters[].cluster.server)"])
        #expect(!output.contains("lorem") && !output.contains("<html"))
    }

    @Test func anOldServerIsWarnedAbout() async throws {
        let server = try await TestHTTPServer()
        defer { server.stop() }
        let (status, output) = try await Self.doctor(server, mode: "old")
        #expect(status == 0, "\(output)")
        #expect(output.contains("WARNING: the server is Kubernetes 1.27, older than the minimum supported 1.28"))
        #expect(output.contains("  yes watch pods (all namespaces)"))
        #expect(output.contains("All checks passed, with 1 warning(s)."))
    }
}

import Foundation
import Testing

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
        #expect(denied == ["get coordination.k8s.io/leases", "create coordination.k8s.io/leases", "update coordination.k8s.io/leases"])
        #expect(report.problems == 3)
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

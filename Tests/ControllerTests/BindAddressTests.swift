import Controller
import Foundation
import KubeEmulator
import Testing
import TestSupport

/// Issue 10 §3: a port already in use names the address and the flag and says what to do (a second controller
/// run out-of-cluster next to the first is the usual case).
@Suite struct BindAddressTests {
    @Test func aBusyAddressIsReportedAsInUseWithTheFlagAndTheFix() async throws {
        let first = try await HTTPEndpoints(address: "127.0.0.1:0", routes: [:])
        let address = "127.0.0.1:\(first.port)"
        do {
            let second = try await HTTPEndpoints(address: address, routes: [:])
            await second.close()
            Issue.record("a second listener bound \(address)")
        } catch let e as HTTPEndpointsError {
            #expect(e.kind == .addressInUse)
            #expect(e.explained(flag: "--metrics-bind-address") == "--metrics-bind-address \(address) is in use "
                + "(another controller or server listens there, e.g. a second controller run out-of-cluster); pass a free address, "
                + "e.g. --metrics-bind-address 127.0.0.1:0 (any free port; the log line names it), or --metrics-bind-address 0 to turn it off")
        }
        await first.close()
        // Free again: the same address binds.
        let again = try await HTTPEndpoints(address: address, routes: [:])
        #expect(again.port == first.port)
        await again.close()
    }

    @Test(arguments: [
        ("localhost", HTTPEndpointsError.Kind.badAddress), (":99999", .badAddress), ("127.0.0.1:x", .badAddress),
    ])
    func malformedAddressesAreRefusedBeforeBinding(address: String, kind: HTTPEndpointsError.Kind) {
        #expect {
            _ = try HTTPEndpoints.parse(address)
        } throws: { error in
            (error as? HTTPEndpointsError)?.kind == kind
                && (error as? HTTPEndpointsError)?.explained(flag: "--health-probe-bind-address")
                    == "--health-probe-bind-address \(address): expected HOST:PORT or :PORT, e.g. :8080 or 127.0.0.1:0"
        }
    }

    @Test func anAddressThatIsNotThisMachinesIsNamed() async throws {
        // 192.0.2.1 (TEST-NET-1, RFC 5737) is never an address of this machine.
        await #expect {
            _ = try await HTTPEndpoints(address: "192.0.2.1:0", routes: [:])
        } throws: { error in
            (error as? HTTPEndpointsError)?.kind == .addressNotAvailable
                && (error as? HTTPEndpointsError)?.explained(flag: "--metrics-bind-address").hasPrefix("--metrics-bind-address 192.0.2.1:0: not an address of this machine") == true
        }
    }

    /// The controller binary, as a user starts a second one: one error line, exit 1.
    @Test(arguments: ["--metrics-bind-address", "--health-probe-bind-address"])
    func theControllerNamesTheBusyFlagAndExits(flag: String) async throws {
        let busy = try await HTTPEndpoints(address: "127.0.0.1:0", routes: [:])
        let dir = try TestDirectory("heteroscale-bind")
        defer { dir.cleanup() }
        // No API server is needed: the addresses are bound before the first API call.
        try dir.write("kubeconfig", KubeEmulator.kubeconfig(server: "http://127.0.0.1:9"))
        let address = "127.0.0.1:\(busy.port)"
        let other = flag == "--metrics-bind-address" ? "--health-probe-bind-address" : "--metrics-bind-address"
        let p = try TestProcess(ControllerProcess.binary, ["controller", "--kubeconfig", dir.path("kubeconfig"), flag, address, other, "127.0.0.1:0"])
        p.process.waitUntilExit()
        await busy.close()
        #expect(p.process.terminationStatus == 1)
        await eventually("the error line") { p.output.contains("error: \(flag) \(address) is in use") }
        #expect(!p.output.contains("USAGE"))
    }
}

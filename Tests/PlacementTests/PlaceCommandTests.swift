import Foundation
import Testing
import YAML
import Placement

/// `heteroscale place` as a user runs it: the built executable on samples/placement.
@Suite struct PlaceCommandTests {
    static var repo: URL { RenderingTests.repo }

    /// The `heteroscale` executable built beside the test bundle.
    static var binary: String {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("heteroscale").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return repo.appendingPathComponent(".build/debug/heteroscale").path
    }

    /// Runs the executable; standard output and error apart.
    static func run(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.currentDirectoryURL = repo
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static let sample = ["place", "--nodes", "samples/placement/nodes.yaml", "--pods", "samples/placement/pods.yaml", "samples/placement/groups.yaml"]

    @Test func jsonOutputMatchesTheEngine() throws {
        let r = try Self.run(Self.sample + ["-o", "json"])
        #expect(r.status == 0, "\(r.err)")
        let doc = try JSONValue.parseJSON(r.out)
        #expect(doc == (try JSONValue.parseJSON(try RenderingTests.samplePlanWithoutExtra().render(.json))))
        #expect(r.err.isEmpty)
    }

    @Test(arguments: ["table", "yaml"])
    func otherFormatsPrintTheSamePlan(format: String) throws {
        let r = try Self.run(Self.sample + ["-o", format])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out == (try RenderingTests.samplePlanWithoutExtra().render(format == "table" ? .table : .yaml)))
    }

    @Test(arguments: [
        (["place", "--nodes", "samples/placement/nodes.yaml"], "give at least one DeploymentGroup manifest"),
        (["place", "--nodes", "nope.yaml", "samples/placement/groups.yaml"], "nope.yaml: cannot read the file"),
        (["place", "--nodes", "samples/placement/groups.yaml", "samples/placement/groups.yaml"], "samples/placement/groups.yaml: line 6, column 1: expected a Node, found a DeploymentGroup"),
        (["place", "--pods", "samples/placement/pods.yaml", "samples/placement/groups.yaml"], "--pods needs --nodes"),
    ])
    func badInvocationsSayWhatToDo(arguments: [String], message: String) throws {
        let r = try Self.run(arguments)
        #expect(r.status != 0)
        #expect(r.err.contains(message), "\(r.err)")
    }
}

extension RenderingTests {
    static func samplePlanWithoutExtra() throws -> Placement.PlacementPlan {
        func read(_ name: String) throws -> String { try String(contentsOf: repo.appendingPathComponent("samples/placement/\(name)"), encoding: .utf8) }
        let topo = Placement.Topology(nodes: try Placement.PlacementInput.nodes(yaml: read("nodes.yaml"), source: "nodes.yaml"),
                                      pods: try Placement.PlacementInput.pods(yaml: read("pods.yaml"), source: "pods.yaml"))
        return topo.plan(try Placement.PlacementInput.groups(yaml: read("groups.yaml"), source: "groups.yaml").map { try Placement.PlacementRequest(group: $0) })
    }
}

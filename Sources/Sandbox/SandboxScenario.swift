import Foundation
import KubeAPI
import KubeEmulator
import Placement
import Simulation

/// A scenario file read for the sandbox: the cluster becomes the emulator's Nodes, one policy's manifests name the
/// engine's pools (model, tensor parallelism, GPU types per DeploymentGroup role or Deployment), the workload is
/// the traffic, `coldStartSeconds`/`coldStarts` time the pods' starts. The policy's replicas and PodAutoscalers are
/// not used: the user applies their own manifests with kubectl and the controller scales them.
public struct SandboxScenario: Sendable {
    public var spec: ScenarioSpec
    public var path: String
    public var policy: ScenarioSpec.Policy
    public var config: SimulationConfig
    public var baseDirectory: String

    /// Loads `path` and picks `policy` (default: the first policy that declares a DeploymentGroup, else the first).
    public init(path: String, policy: String? = nil) throws {
        let spec = try ScenarioSpec.load(path: path)
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try spec.validate(baseDirectory: base)
            let chosen: ScenarioSpec.Policy
            if let policy {
                guard let p = spec.policies.first(where: { $0.name == policy }) else {
                    throw SimulationError("no policy \(policy); have \(spec.policies.map(\.name).joined(separator: ", "))")
                }
                chosen = p
            } else {
                guard let p = spec.policies.first(where: { p in
                    (p.manifests ?? []).contains { $0["kind"]?.stringValue == "DeploymentGroup" }
                }) ?? spec.policies.first else { throw SimulationError("policies: the scenario needs one") }
                chosen = p
            }
            let performance = try spec.performanceModel(baseDirectory: base)
            var config = try spec.config(policy: chosen, baseDirectory: base, performance: performance)
            config.recordRequests = false
            self.spec = spec
            self.path = path
            self.policy = chosen
            self.config = config
            baseDirectory = base
        } catch {
            throw SimulationError("\(path): \(error)")
        }
    }

    /// The request stream (the scenario's workload, seeded as `simulate` seeds it).
    public func makeStream() throws -> AnyRequestStream {
        var workload = spec.workload
        if workload.seed == nil { workload.seed = spec.seed }
        return try workload.makeStream(baseDirectory: baseDirectory, independentSizes: spec.performanceModelMode == .splitwiseCompat)
    }

    /// The engine's pools for the pod → instance mapping.
    public var catalog: PoolCatalog {
        PoolCatalog(pools: config.pools.map { .init(name: $0.name, role: $0.role.rawValue, gpuTypes: $0.gpuTypes ?? [$0.gpuType]) })
    }

    /// The cluster's nodes as emulator Nodes: the topology labels (`heteroscale.io/gpu-type`, `heteroscale.io/s1`,
    /// `heteroscale.io/s2`, as `simulate` labels them) and allocatable `nvidia.com/gpu`.
    public var nodes: [EmulatedNode] {
        let labels = TopologyLabels.default
        return config.cluster.kubeNodes().map { n in
            EmulatedNode(name: n.metadata.name ?? "node", labels: n.metadata.labels ?? [:],
                         gpus: Int(n.status?.allocatable?[labels.gpuResource] ?? "") ?? 8)
        }
    }

    /// GPU type per node name.
    public var nodeGPUTypes: [String: String] {
        let key = TopologyLabels.default.gpuType
        return Dictionary(nodes.compactMap { n in n.labels[key].map { (n.name, $0) } }, uniquingKeysWith: { a, _ in a })
    }

    /// Simulated cold start of a role on a GPU type (`coldStarts` rules, else `coldStartSeconds`, else 120 s).
    public func coldStart(role: String, gpuType: String) -> Double {
        spec.coldStart(role: InstanceRole.infer(role) ?? .mixed, gpuType: gpuType) ?? 120
    }

    /// A repository file (`crds/`, `samples/simulation/sandbox.yaml`): looked up from the working directory and then
    /// from the executable's folder upwards (a `.build/release/heteroscale` finds the checkout it was built in).
    public static func repositoryFile(_ relative: String, executable: String = CommandLine.arguments[0]) -> String? {
        let fm = FileManager.default
        var candidates = [fm.currentDirectoryPath]
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(dir.path)
            dir = dir.deletingLastPathComponent()
        }
        for c in candidates {
            let full = URL(fileURLWithPath: c).appendingPathComponent(relative).path
            if fm.fileExists(atPath: full) { return full }
        }
        return nil
    }
}

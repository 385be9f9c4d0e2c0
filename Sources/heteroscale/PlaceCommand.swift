import ArgumentParser
import Foundation
import KubeAPI
import KubeClient
import Placement
import Simulation
import YAML

extension PlanFormat: ExpressibleByArgument {}

/// `heteroscale place --nodes NODES.yaml [--pods PODS.yaml] GROUP.yaml... [-o table|yaml|json]`: where would the
/// DeploymentGroups land? One scheduling cycle of the placement engine, on node and pod lists or (without
/// `--nodes`) on the live cluster, read-only.
struct PlaceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "place",
        abstract: "Show where DeploymentGroups would be placed: one cycle of the topology-aware placement engine.",
        discussion: """
            Nodes come from --nodes (as `kubectl get nodes -o yaml` writes them) or, without it, from the cluster of \
            the kubeconfig (read-only). Used GPUs come from --pods (`kubectl get pods -A -o yaml`) or the cluster's \
            pods. Each group's spec.replicas is split by role weight; its status.placements, when present, are the \
            existing placements. Without GROUP files, the cluster's DeploymentGroups are used. --bench runs the \
            engine on a generated 50,000-GPU cluster and prints cycle-time percentiles.
            """)

    @Option(help: ArgumentHelp("A node list (YAML).", valueName: "nodes.yaml"))
    var nodes: String?

    @Option(help: ArgumentHelp("A pod list (YAML), for the GPUs in use and where existing placements run.", valueName: "pods.yaml"))
    var pods: String?

    @Argument(help: ArgumentHelp("DeploymentGroup manifests (other kinds in them are skipped).", valueName: "group.yaml"))
    var groups: [String] = []

    @Option(name: [.customShort("o"), .long], help: "Output format: table, yaml or json.")
    var output: PlanFormat = .table

    @OptionGroup var cluster: ClusterOptions

    @Option(help: "The S1 (mini-pod) node label.")
    var s1Label = TopologyLabels.default.s1
    @Option(help: "The S2 (big-pod) node label.")
    var s2Label = TopologyLabels.default.s2
    @Option(help: "The S0 (ToR) node label.")
    var s0Label = TopologyLabels.default.s0
    @Option(help: "The GPU type node label (nodes without it fall back to nvidia.com/gpu.product).")
    var gpuTypeLabel = TopologyLabels.default.gpuType

    @Flag(help: "Benchmark the engine on a generated cluster (6,250 nodes, 50,000 GPUs, 1,000 groups) and exit.")
    var bench = false
    @Option(help: "Cycles per benchmark phase.")
    var benchCycles = 30
    @Option(help: "Seed of the generated benchmark cluster.")
    var seed: UInt64 = 1

    func validate() throws {
        if benchCycles < 1 { throw ValidationError("--bench-cycles must be at least 1") }
        if bench { return }
        if nodes == nil && pods != nil { throw ValidationError("--pods needs --nodes (without --nodes the cluster's pods are read)") }
        if nodes != nil && cluster.kubeconfig != nil { throw ValidationError("give --nodes or --kubeconfig, not both") }
        if nodes != nil && groups.isEmpty { throw ValidationError("give at least one DeploymentGroup manifest") }
    }

    var labels: TopologyLabels {
        TopologyLabels(s0: s0Label, s1: s1Label, s2: s2Label, gpuType: gpuTypeLabel)
    }

    func run() async throws {
        if bench {
            try PlacementBench(cycles: benchCycles, seed: seed).run()
            return
        }
        let input: (nodes: [Node], pods: [Pod], groups: [DeploymentGroup])
        do {
            input = nodes != nil ? try readFiles() : try await readCluster()
        } catch let e as PlacementError {
            Self.fail(CommandFailure(description: e.message))
        } catch let e as CommandFailure {
            Self.fail(e)
        }
        let topology = Topology(nodes: input.nodes, pods: input.pods, labels: labels)
        let requests: [PlacementRequest]
        do {
            requests = try input.groups.map { try PlacementRequest(group: $0) }
        } catch {
            Self.fail(error)
        }
        let plan = topology.plan(requests)
        for w in plan.warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
        print(plan.render(output), terminator: "")
    }

    func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure(description: "\(path): cannot read the file") }
        return String(decoding: data, as: UTF8.self)
    }

    func readFiles() throws -> ([Node], [Pod], [DeploymentGroup]) {
        let nodeList = try PlacementInput.nodes(yaml: try read(nodes!), source: nodes!)
        let podList = try pods.map { try PlacementInput.pods(yaml: try read($0), source: $0) } ?? []
        let groupList = try groups.flatMap { try PlacementInput.groups(yaml: try read($0), source: $0) }
        return (nodeList, podList, groupList)
    }

    /// Nodes, pods that hold resources, and the DeploymentGroups (from files, else every one in the cluster).
    func readCluster() async throws -> ([Node], [Pod], [DeploymentGroup]) {
        let config: RESTConfig
        do {
            config = try KubeconfigLoader.load(kubeconfigPath: cluster.kubeconfig, context: cluster.context)
        } catch {
            throw CommandFailure(description: "\(error)")
        }
        let client = RESTClient(config: config)
        do {
            let nodeItems = try await client.listAll(.nodes).items
            let podItems = try await client.listAll(.pods, options: ListOptions(fieldSelector: "status.phase!=Succeeded,status.phase!=Failed")).items
            let groupList: [DeploymentGroup]
            if groups.isEmpty {
                groupList = try await client.listAll(.deploymentGroups).items.map { try $0.decode(DeploymentGroup.self) }
            } else {
                groupList = try groups.flatMap { try PlacementInput.groups(yaml: try read($0), source: $0) }
            }
            return (try nodeItems.map { try $0.decode(Node.self) }, try podItems.map { try $0.decode(Pod.self) }, groupList)
        } catch let e as PlacementError {
            throw e
        } catch let e as CommandFailure {
            throw e
        } catch {
            throw CommandFailure(description: "\(config.server): \(error)")
        }
    }
}

/// `place --bench`: a generated 3-level cluster (6,250 nodes × 8 GPUs, S1 = 10 nodes, S2 = 25 S1s, four GPU
/// types), 1,000 DeploymentGroups placed once to make the pods of a running cluster; then
/// - full cycles: the topology built from the Node and Pod objects, plus a request from every group (each
///   resized by −2…+3 instances), placed;
/// - incremental cycles: on a topology kept up to date, the pods of the previous cycle's plan applied and a
///   request from 10 % of the groups placed.
struct PlacementBench {
    var cycles: Int
    var seed: UInt64

    static let fullTarget = 0.050
    static let incrementalTarget = 0.005

    func run() throws {
        var rng = SimRandom(seed: seed)
        let synthetic = SyntheticCluster.generate(using: &rng)
        var groups = synthetic.groups
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }

        // The running cluster: every group placed once, its instances as pods.
        let initialRequests = try groups.map { try PlacementRequest(group: $0) }
        let initial = Topology(nodes: synthetic.nodes).plan(initialRequests)
        var pods = SyntheticCluster.pods(for: initial, initialRequests)
        groups = Self.apply(initial, to: groups)
        let gpus = synthetic.nodes.count * 8
        let used = pods.reduce(0) { $0 + Int($1.spec!.containers[0].resources!.limits!["nvidia.com/gpu"]!)! }
        print("cluster: \(synthetic.nodes.count) nodes, \(gpus) GPUs, \(groups.count) DeploymentGroups, \(pods.count) pods holding \(used) GPUs (\(Int(Double(used) / Double(gpus) * 100)) %), \(initial.groups.reduce(0) { $0 + $1.placements.count }) placements")

        // Full cycles.
        var full: [Double] = []
        var phases: (build: [Double], requests: [Double], plan: [Double]) = ([], [], [])
        var lastPlan = initial
        for _ in 0..<cycles {
            let resized = groups.map { g -> DeploymentGroup in
                var g = g
                g.spec.replicas = max(2, g.spec.replicas + Int(rng.next() % 6) - 2)
                return g
            }
            let start = clock.now
            let topology = Topology(nodes: synthetic.nodes, pods: pods)
            let built = clock.now
            let requests = try resized.map { try PlacementRequest(group: $0) }
            let requested = clock.now
            lastPlan = topology.plan(requests)
            let end = clock.now
            full.append(seconds(end - start))
            phases.build.append(seconds(built - start))
            phases.requests.append(seconds(requested - built))
            phases.plan.append(seconds(end - requested))
        }
        let changes = lastPlan.groups.reduce(0) { $0 + $1.decisions.filter { $0.kind != .reserve }.count }
        print("full cycle (build from \(synthetic.nodes.count) nodes + \(pods.count) pods, \(groups.count) requests, \(changes) decisions):")
        print(Self.line(full, target: Self.fullTarget))
        func median(_ x: [Double]) -> String { String(format: "%.2f ms", x.sorted()[x.count / 2] * 1000) }
        print("  phases (p50): tree build \(median(phases.build)), requests \(median(phases.requests)), placement \(median(phases.plan))")

        // Incremental cycles on a topology kept current.
        var topology = Topology(nodes: synthetic.nodes, pods: pods)
        var pending: [Pod] = []
        var incremental: [Double] = []
        var serial = pods.count
        for _ in 0..<cycles {
            var requests: [PlacementRequest] = []
            var changed: [Int] = []
            for i in 0..<groups.count where rng.next() % 10 == 0 {
                var g = groups[i]
                g.spec.replicas = max(2, g.spec.replicas + Int(rng.next() % 6) - 2)
                groups[i].spec.replicas = g.spec.replicas
                requests.append(try PlacementRequest(group: g))
                changed.append(i)
            }
            let start = clock.now
            for p in pending { topology.add(pod: p) }
            let plan = topology.plan(requests)
            incremental.append(seconds(clock.now - start))
            // What the cluster does afterwards: new pods bind, removed ones go (not timed: that is the
            // scheduler's and kubelet's work).
            pending = SyntheticCluster.pods(for: plan, requests, startingAt: serial)
            serial += pending.count
            for victim in Self.victims(plan, pods) { topology.remove(pod: victim) }
            pods = Self.removing(Self.victims(plan, pods), from: pods) + pending
            groups = Self.apply(plan, to: groups)
        }
        print("incremental cycle (previous cycle's pods applied + ~\(groups.count / 10) requests):")
        print(Self.line(incremental, target: Self.incrementalTarget))
        print("peak RSS \(SimulateCommand.peakRSS()) (target < 200 MB)")
    }

    static func line(_ samples: [Double], target: Double) -> String {
        let s = samples.sorted()
        func q(_ p: Double) -> Double { s[min(s.count - 1, Int((p * Double(s.count - 1)).rounded()))] }
        func ms(_ x: Double) -> String { String(format: "%.2f ms", x * 1000) }
        return "  p50 \(ms(q(0.5)))  p90 \(ms(q(0.9)))  p99 \(ms(q(0.99)))  max \(ms(s.last!))  (\(s.count) cycles; p50 = \(String(format: "%.2f", q(0.5) / target)) × target \(ms(target)), p99 = \(String(format: "%.2f", q(0.99) / target)) ×)"
    }

    /// Groups with the plan's placements as their status.
    static func apply(_ plan: PlacementPlan, to groups: [DeploymentGroup]) -> [DeploymentGroup] {
        var byKey: [String: GroupPlan] = [:]
        for g in plan.groups { byKey[g.key] = g }
        return groups.map { g in
            guard let p = byKey["\(g.metadata.namespace ?? "default")/\(g.metadata.name ?? "")"] else { return g }
            var g = g
            var status = g.status ?? DeploymentGroupStatus()
            status.placements = p.statusPlacements
            g.status = status
            return g
        }
    }

    /// The pods the plan removes: for each victim node, that many of the group's pods of the role there.
    static func victims(_ plan: PlacementPlan, _ pods: [Pod]) -> [Pod] {
        var wanted: [String: Int] = [:]
        for g in plan.groups {
            for p in g.placements + g.released {
                for v in p.victims { wanted["\(g.namespace)/\(g.name)/\(v.role)/\(p.name)/\(v.node)", default: 0] += v.count }
            }
        }
        guard !wanted.isEmpty else { return [] }
        var out: [Pod] = []
        for pod in pods {
            let l = pod.metadata.labels ?? [:]
            let key = "\(pod.metadata.namespace ?? "default")/\(l[GroupLabels.group] ?? "")/\(l[GroupLabels.role] ?? "")/\(l[GroupLabels.placement] ?? "")/\(pod.spec?.nodeName ?? "")"
            if let n = wanted[key], n > 0 {
                wanted[key] = n - 1
                out.append(pod)
            }
        }
        return out
    }

    static func removing(_ gone: [Pod], from pods: [Pod]) -> [Pod] {
        let names = Set(gone.map { "\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")" })
        return pods.filter { !names.contains("\($0.metadata.namespace ?? "")/\($0.metadata.name ?? "")") }
    }
}

import Autoscaling
import KubeAPI

/// The GPU topology of a cluster: nodes (S0) ⊂ S1 (mini-pod) ⊂ S2 (big-pod) ⊂ cluster, read from Node labels,
/// with every node's free GPUs and its RDMA subgroup class, and where the DeploymentGroups' pods run.
///
/// Built once from Nodes and Pods (`init(nodes:pods:labels:)`), then kept current with `add(pod:)` /
/// `remove(pod:)` or `allocate`/`release`. A value type: copying it is cheap enough (flat arrays) that a
/// scheduling cycle works on a copy (`plan`) and throws it away, or on the original (`schedule`) when the
/// allocation is to stay (the simulator).
///
/// Which capacity counts (as the scheduler would): `status.allocatable` of the GPU resource, minus the GPU
/// requests of the non-terminal pods bound to the node. An unschedulable node, a node whose `Ready` condition is
/// not `True`, and a node with a `NoSchedule`/`NoExecute` taint offer their capacity only to roles that tolerate
/// that (the first two as the taints `node.kubernetes.io/unschedulable` and `node.kubernetes.io/not-ready`,
/// which the node controller sets for them). Nodes without GPUs are ignored.
///
/// Deterministic: nodes are ordered by (S2, S1, S0, name) and GPU types by name, so the same nodes in any order
/// give the same topology.
public struct Topology: Sendable {
    public let labels: TopologyLabels
    /// GPU types present, sorted by name (`""` for nodes without a type label).
    public private(set) var gpuTypes: [String] = []
    var typeIndex: [String: Int32] = [:]
    /// Distinct sets of scheduling taints; index 0 is the empty set.
    var taintSets: [[Taint]] = [[]]

    // Nodes, in (S2, S1, S0, name) order.
    var nodeNames: [String] = []
    var nodeS0: [String] = []
    var nodeS1: [Int32] = []
    var nodeType: [Int32] = []
    var nodeSig: [Int32] = []
    var nodeCapacity: [Int32] = []
    /// The largest node capacity per GPU type (for the unschedulable reasons).
    var typeLargestCapacity: [Int32] = []
    var nodeFree: [Int32] = []
    var nodeIndex: [String: Int32] = [:]

    // S1 domains, in (S2, S1) order; nodes of S1 i are nodeStart[i]..<nodeStart[i+1].
    var s1Names: [String] = []
    var s1Display: [String] = []
    var s1S2: [Int32] = []
    var s1Class: [UInt8] = []
    var s1NodeStart: [Int32] = [0]
    var s1ByDisplay: [String: Int32] = [:]
    /// False for an S1 that is a node without the S1 label (named after the node).
    var s1FromLabel: [Bool] = []

    // S2 domains, by name; S1s of S2 j are s1Start[j]..<s1Start[j+1].
    var s2Names: [String] = []
    var s2S1Start: [Int32] = [0]
    var s2ByName: [String: Int32] = [:]
    /// False for an S2 named after its S1 (nodes without the S2 label).
    var s2FromLabel: [Bool] = []
    /// Per GPU type: every node of it carries the primary GPU type label (else the fallback label is used in
    /// node selectors).
    var typeFromPrimaryLabel: [Bool] = []

    /// Histograms of nodes by free GPUs (`histWidth` buckets: 0 … the largest node), per S1 × type × taint set,
    /// per S2 × class × type × taint set, and per class × type × taint set for the cluster; and free GPUs per
    /// S1/S2/cluster × type. Kept in step with `nodeFree`.
    var histWidth = 1
    var s1Hist: [Int32] = []
    var s2Hist: [Int32] = []
    var clHist: [Int32] = []
    var s1TypeFree: [Int32] = []
    var s2TypeFree: [Int32] = []
    var clTypeFree: [Int32] = []

    /// Where each DeploymentGroup's pods run, from their `heteroscale.io/*` labels: node → instances.
    var bound: [BoundKey: [Int32: Int32]] = [:]
    /// False while `init` accounts pods before the histograms exist.
    private var histogramsBuilt = false

    /// Labelling problems found while building (nodes without topology labels, over-committed nodes, …).
    public private(set) var warnings: [String] = []

    struct BoundKey: Hashable, Sendable {
        var namespace: String
        var group: String
        var placement: String
        var role: String
    }

    /// Builds the topology from Node objects (as `kubectl get nodes -o yaml` lists them) and, for used GPUs and
    /// existing placements, the Pods bound to them.
    public init(nodes: [Node], pods: [Pod] = [], labels: TopologyLabels = .default) {
        self.labels = labels
        struct Raw {
            var name: String, s0: String, s1: String, s2: String, type: String, taints: [Taint], capacity: Int
            var s1Labelled: Bool, s2Labelled: Bool, typePrimary: Bool
            /// Index of `type` in `seenTypes` (a cluster has a handful of GPU types: a linear scan, no hashing).
            var typeSlot: Int
        }
        var raw: [Raw] = []
        raw.reserveCapacity(nodes.count)
        var seenTypes: [String] = []
        var noS1 = 0, noS2 = 0, noType = 0
        for node in nodes {
            guard let name = node.metadata.name, !name.isEmpty else { continue }
            let capacity = Self.quantity(node.status?.allocatable?[labels.gpuResource] ?? node.status?.capacity?[labels.gpuResource])
            guard capacity > 0 else { continue }
            let l = node.metadata.labels ?? [:]
            let primaryType = l[labels.gpuType]
            let type = primaryType ?? l[labels.gpuTypeFallback]
            if type == nil { noType += 1 }
            let s1 = l[labels.s1]
            if s1 == nil { noS1 += 1 }
            let s2 = l[labels.s2]
            if s2 == nil { noS2 += 1 }
            var taints: [Taint] = []
            if let all = node.spec?.taints, !all.isEmpty {
                taints = all.filter { $0.effect == Taint.Effect.noSchedule || $0.effect == Taint.Effect.noExecute }
            }
            if node.spec?.unschedulable == true {
                taints.append(Taint(key: "node.kubernetes.io/unschedulable", effect: Taint.Effect.noSchedule))
            }
            if let ready = node.status?.conditions?[type: "Ready"], !ready.isTrue {
                taints.append(Taint(key: ready.status == "Unknown" ? "node.kubernetes.io/unreachable" : "node.kubernetes.io/not-ready",
                                    effect: Taint.Effect.noSchedule))
            }
            let s1Value = s1 ?? name
            let typeName = type ?? ""
            let slot = seenTypes.firstIndex(of: typeName) ?? {
                seenTypes.append(typeName)
                return seenTypes.count - 1
            }()
            raw.append(Raw(name: name, s0: l[labels.s0] ?? "", s1: s1Value, s2: s2 ?? s1Value, type: typeName,
                           taints: taints.isEmpty ? taints : Self.canonical(taints), capacity: capacity, s1Labelled: s1 != nil,
                           s2Labelled: s2 != nil, typePrimary: primaryType != nil, typeSlot: slot))
        }
        raw.sort { ($0.s2, $0.s1, $0.s0, $0.name) < ($1.s2, $1.s1, $1.s0, $1.name) }
        if noS1 > 0 { warnings.append("\(noS1) GPU node(s) have no \(labels.s1) label: each is an S1 of its own") }
        if noS2 > 0 { warnings.append("\(noS2) GPU node(s) have no \(labels.s2) label: their S2 is named after their S1") }
        if noType > 0 { warnings.append("\(noType) GPU node(s) have neither \(labels.gpuType) nor \(labels.gpuTypeFallback): their GPU type is unknown and only roles without a gpuType list use them") }

        gpuTypes = seenTypes.sorted()
        for (i, t) in gpuTypes.enumerated() { typeIndex[t] = Int32(i) }
        let typeOfSlot = seenTypes.map { typeIndex[$0]! }
        typeFromPrimaryLabel = [Bool](repeating: true, count: gpuTypes.count)
        for r in raw where !r.typePrimary { typeFromPrimaryLabel[Int(typeOfSlot[r.typeSlot])] = false }
        var sigIndex: [[Taint]: Int32] = [[]: 0]
        // The S2s each S1 name appears in (raw is sorted by S2 then S1, so only boundaries need looking at).
        var s2sOfS1: [String: [String]] = [:]
        for i in raw.indices where i == 0 || raw[i].s1 != raw[i - 1].s1 || raw[i].s2 != raw[i - 1].s2 {
            s2sOfS1[raw[i].s1, default: []].append(raw[i].s2)
        }
        let ambiguous = s2sOfS1.filter { Set($0.value).count > 1 }
        for (s1, s2s) in ambiguous.sorted(by: { $0.key < $1.key }) {
            warnings.append("S1 \(s1) appears in S2s \(Set(s2s).sorted().joined(separator: ", ")): each part is its own S1, shown as S2/S1")
        }
        var maxCapacity = 1
        nodeIndex.reserveCapacity(raw.count)
        for r in raw {
            if let first = nodeIndex.updateValue(Int32(nodeNames.count), forKey: r.name) {
                nodeIndex[r.name] = first
                warnings.append("node \(r.name) is listed twice: the first is used")
                continue
            }
            if s2Names.last != r.s2 {
                s2ByName[r.s2] = Int32(s2Names.count)
                s2Names.append(r.s2)
                s2FromLabel.append(r.s2Labelled)
                if s2Names.count > 1 { s2S1Start.append(Int32(s1Names.count)) }
            }
            if s1Names.isEmpty || s1Names.last != r.s1 || s1S2.last != Int32(s2Names.count - 1) {
                if !s1Names.isEmpty { s1NodeStart.append(Int32(nodeNames.count)) }
                let display = ambiguous[r.s1] != nil ? "\(r.s2)/\(r.s1)" : r.s1
                s1ByDisplay[display] = Int32(s1Names.count)
                s1Names.append(r.s1)
                s1Display.append(display)
                s1S2.append(Int32(s2Names.count - 1))
                s1FromLabel.append(r.s1Labelled)
            }
            let sig: Int32
            if r.taints.isEmpty {
                sig = 0
            } else if let s = sigIndex[r.taints] {
                sig = s
            } else {
                sig = Int32(taintSets.count)
                sigIndex[r.taints] = sig
                taintSets.append(r.taints)
            }
            nodeNames.append(r.name)
            nodeS0.append(r.s0)
            nodeS1.append(Int32(s1Names.count - 1))
            nodeType.append(typeOfSlot[r.typeSlot])
            nodeSig.append(sig)
            nodeCapacity.append(Int32(r.capacity))
            nodeFree.append(Int32(r.capacity))
            maxCapacity = max(maxCapacity, r.capacity)
        }
        s1NodeStart.append(Int32(nodeNames.count))
        s2S1Start.append(Int32(s1Names.count))
        if s1Names.isEmpty { s1NodeStart = [0]; s2S1Start = [0] }
        histWidth = maxCapacity + 1
        typeLargestCapacity = [Int32](repeating: 0, count: gpuTypes.count)
        for n in nodeType.indices { typeLargestCapacity[Int(nodeType[n])] = max(typeLargestCapacity[Int(nodeType[n])], nodeCapacity[n]) }
        classify()

        bound.reserveCapacity(pods.count / 2)
        // Index-based over the buffer, so that `account` borrows each Pod instead of copying it.
        pods.withUnsafeBufferPointer { pods in
            for i in pods.indices { account(pods[i], sign: 1, warn: true) }
        }
        rebuildHistograms()
    }

    /// S1 classes from the GPU types of all GPU nodes (schedulable or not: the class is a property of the
    /// hardware, and does not flap when a node is cordoned).
    private mutating func classify() {
        s1Class = [UInt8](repeating: 0, count: s1Names.count)
        for s2 in 0..<s2Names.count {
            let s1s = Int(s2S1Start[s2])..<Int(s2S1Start[s2 + 1])
            var s2Types = Set<Int32>()
            var s1Types: [Set<Int32>] = []
            for s1 in s1s {
                var types = Set<Int32>()
                for n in Int(s1NodeStart[s1])..<Int(s1NodeStart[s1 + 1]) { types.insert(nodeType[n]) }
                s1Types.append(types)
                s2Types.formUnion(types)
            }
            for (k, s1) in s1s.enumerated() {
                s1Class[s1] = s2Types.count <= 1 ? 0 : s1Types[k].count <= 1 ? 1 : 2
            }
        }
    }

    // MARK: Counts

    var typeCount: Int { gpuTypes.count }
    var sigCount: Int { taintSets.count }
    public var nodeCount: Int { nodeNames.count }
    var s1Count: Int { s1Names.count }
    var s2Count: Int { s2Names.count }

    @inline(__always) func s1HistBase(_ s1: Int, _ t: Int, _ sig: Int) -> Int {
        ((s1 * typeCount + t) * sigCount + sig) * histWidth
    }
    @inline(__always) func s2HistBase(_ s2: Int, _ cls: Int, _ t: Int, _ sig: Int) -> Int {
        (((s2 * 3 + cls) * typeCount + t) * sigCount + sig) * histWidth
    }
    @inline(__always) func clHistBase(_ cls: Int, _ t: Int, _ sig: Int) -> Int {
        ((cls * typeCount + t) * sigCount + sig) * histWidth
    }

    private mutating func rebuildHistograms() {
        let t = typeCount, g = sigCount, h = histWidth
        s1Hist = [Int32](repeating: 0, count: max(1, s1Count * t * g * h))
        s2Hist = [Int32](repeating: 0, count: max(1, s2Count * 3 * t * g * h))
        clHist = [Int32](repeating: 0, count: max(1, 3 * t * g * h))
        s1TypeFree = [Int32](repeating: 0, count: max(1, s1Count * t))
        s2TypeFree = [Int32](repeating: 0, count: max(1, s2Count * t))
        clTypeFree = [Int32](repeating: 0, count: max(1, t))
        for n in 0..<nodeCount { histAdd(n, Int(nodeFree[n]), 1) }
        histogramsBuilt = true
    }

    /// Adds `delta` nodes of node `n`'s kind at free level `free` to every histogram above it.
    @inline(__always) private mutating func histAdd(_ n: Int, _ free: Int, _ delta: Int32) {
        let s1 = Int(nodeS1[n]), s2 = Int(s1S2[s1]), cls = Int(s1Class[s1])
        let t = Int(nodeType[n]), sig = Int(nodeSig[n])
        s1Hist[s1HistBase(s1, t, sig) + free] += delta
        s2Hist[s2HistBase(s2, cls, t, sig) + free] += delta
        clHist[clHistBase(cls, t, sig) + free] += delta
        let gpus = delta * Int32(free)
        s1TypeFree[s1 * typeCount + t] += gpus
        s2TypeFree[s2 * typeCount + t] += gpus
        clTypeFree[t] += gpus
    }

    /// Changes node `n`'s free GPUs, keeping the histograms in step.
    @inline(__always) mutating func setFree(_ n: Int, _ free: Int32) {
        let old = nodeFree[n]
        guard old != free else { return }
        histAdd(n, Int(old), -1)
        nodeFree[n] = free
        histAdd(n, Int(free), 1)
    }

    // MARK: Pods

    /// The GPUs a pod holds on its node, as the scheduler counts them: the larger of the sum over its
    /// containers and the largest init container; a container's request, or its limit when it sets no request
    /// (extended resources default their request to the limit).
    public func gpuRequest(_ pod: Pod) -> Int {
        func request(_ c: Pod.Container) -> Int {
            Self.quantity(c.resources?.requests?[labels.gpuResource] ?? c.resources?.limits?[labels.gpuResource])
        }
        guard let spec = pod.spec else { return 0 }
        var containers = 0
        for c in spec.containers { containers += request(c) }
        var initMax = 0
        for c in spec.initContainers ?? [] { initMax = max(initMax, request(c)) }
        return max(containers, initMax)
    }

    /// Whether a pod still holds its resources: bound and not `Succeeded`/`Failed`.
    static func holdsResources(_ pod: Pod) -> Bool {
        guard let node = pod.spec?.nodeName, !node.isEmpty else { return false }
        let phase = pod.status?.phase
        return phase != Pod.Phase.succeeded && phase != Pod.Phase.failed
    }

    /// Accounts a pod that was bound to a node (a watch `ADDED`, or a phase change to running).
    public mutating func add(pod: Pod) { account(pod, sign: 1, warn: false) }

    /// Releases what `add(pod:)` accounted (a `DELETED` pod, or one that reached `Succeeded`/`Failed`).
    public mutating func remove(pod: Pod) { account(pod, sign: -1, warn: false) }

    private mutating func account(_ pod: borrowing Pod, sign: Int32, warn: Bool) {
        guard Self.holdsResources(pod), let nodeName = pod.spec?.nodeName else { return }
        let gpus = gpuRequest(pod)
        guard let n = nodeIndex[nodeName].map(Int.init) else {
            if warn && gpus > 0 {
                warnings.append("pod \(pod.metadata.namespace ?? "default")/\(pod.metadata.name ?? "?") requests \(gpus) GPU(s) on node \(nodeName), which is not in the node list")
            }
            return
        }
        if gpus > 0 {
            let used = nodeCapacity[n] - nodeFree[n] + sign * Int32(gpus)
            if warn && used > nodeCapacity[n] && sign > 0 {
                warnings.append("node \(nodeName): pods request \(used) GPUs, \(nodeCapacity[n]) allocatable (over-committed; counted as full)")
            }
            let free = max(0, min(nodeCapacity[n], nodeCapacity[n] - used))
            if histogramsBuilt { setFree(n, free) } else { nodeFree[n] = free }
        }
        if let l = pod.metadata.labels, let group = l[GroupLabels.group], let placement = l[GroupLabels.placement], let role = l[GroupLabels.role] {
            let key = BoundKey(namespace: pod.metadata.namespace ?? "default", group: group, placement: placement, role: role)
            let node = Int32(n)
            if sign > 0 {
                bound[key, default: [:]][node, default: 0] += sign
            } else if let c = bound[key]?[node] {
                bound[key]![node] = c + sign > 0 ? c + sign : nil
            }
        }
    }

    /// A Kubernetes quantity of whole devices (`"8"`, `"8.0"`); 0 when absent or not a number.
    static func quantity(_ text: String?) -> Int {
        guard let text else { return 0 }
        // Fast path: almost every device quantity is a plain integer ("8").
        if text.utf8.count <= 9, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return Int(text) ?? 0 }
        guard let v = MetricTarget.parse(text), v.isFinite, v > 0 else { return 0 }
        return Int(v.rounded(.down))
    }

    /// Scheduling taints in a canonical order (so that equal sets intern to one index).
    static func canonical(_ taints: [Taint]) -> [Taint] {
        var seen = Set<Taint>()
        return taints.map { Taint(key: $0.key, value: $0.value, effect: $0.effect) }
            .filter { seen.insert($0).inserted }
            .sorted { ($0.key, $0.value ?? "", $0.effect) < ($1.key, $1.value ?? "", $1.effect) }
    }

    // MARK: Allocation

    /// Takes `gpus` GPUs of a node (an instance placed on it). Returns false when it has fewer free.
    @discardableResult
    public mutating func allocate(node: String, gpus: Int) -> Bool {
        guard let n = nodeIndex[node].map(Int.init), nodeFree[n] >= Int32(gpus) else { return false }
        setFree(n, nodeFree[n] - Int32(gpus))
        return true
    }

    /// Gives `gpus` GPUs of a node back (never above its allocatable).
    public mutating func release(node: String, gpus: Int) {
        guard let n = nodeIndex[node].map(Int.init) else { return }
        setFree(n, min(nodeCapacity[n], nodeFree[n] + Int32(gpus)))
    }

    /// The taint sets a role with these tolerations may use.
    func eligibleSigs(_ tolerations: [Toleration]) -> [Int32] {
        taintSets.indices.filter { i in
            taintSets[i].allSatisfy { taint in tolerations.contains { $0.tolerates(taint) } }
        }.map(Int32.init)
    }
}

// MARK: - Queries

/// One node as the topology sees it.
public struct TopologyNode: Sendable, Hashable {
    public var name: String
    public var gpuType: String
    public var s0: String
    /// The S1 and S2 as shown in placements.
    public var s1: String
    public var s2: String
    public var subgroupClass: SubgroupClass
    public var allocatable: Int
    public var free: Int
    /// Scheduling taints (including `node.kubernetes.io/unschedulable` and `…/not-ready` for cordoned or
    /// not-ready nodes).
    public var taints: [Taint]
}

/// How far apart two nodes are in the network.
public enum Locality: String, Sendable, Hashable { case sameNode, sameS1, sameS2, across }

extension Topology {
    public func node(named name: String) -> TopologyNode? { nodeIndex[name].map { node(at: Int($0)) } }

    /// Every node, in topology order (S2, S1, S0, name).
    public var nodes: [TopologyNode] { (0..<nodeCount).map(node(at:)) }

    func node(at n: Int) -> TopologyNode {
        let s1 = Int(nodeS1[n])
        return TopologyNode(name: nodeNames[n], gpuType: gpuTypes[Int(nodeType[n])], s0: nodeS0[n], s1: s1Display[s1],
                            s2: s2Names[Int(s1S2[s1])], subgroupClass: SubgroupClass(rank: Int(s1Class[s1])),
                            allocatable: Int(nodeCapacity[n]), free: Int(nodeFree[n]), taints: taintSets[Int(nodeSig[n])])
    }

    /// The network distance between two nodes (`across` when either is unknown).
    public func locality(_ a: String, _ b: String) -> Locality {
        guard let x = nodeIndex[a], let y = nodeIndex[b] else { return .across }
        return locality(Int(x), Int(y))
    }

    /// The index of a node in topology order (for callers that keep nodes by index, like the simulator).
    public func nodeIndex(named name: String) -> Int? { nodeIndex[name].map(Int.init) }

    public func nodeName(at index: Int) -> String { nodeNames[index] }

    /// Gives GPUs back to the node at an index (see `release(node:gpus:)`).
    public mutating func release(nodeAt n: Int, gpus: Int) {
        setFree(n, min(nodeCapacity[n], nodeFree[n] + Int32(gpus)))
    }

    /// The network distance between the nodes at two indices.
    public func locality(_ a: Int, _ b: Int) -> Locality {
        if a == b { return .sameNode }
        let s1a = Int(nodeS1[a]), s1b = Int(nodeS1[b])
        if s1a == s1b { return .sameS1 }
        return s1S2[s1a] == s1S2[s1b] ? .sameS2 : .across
    }

    /// Free GPUs (any taints) of a class, of a type or of both, cluster-wide.
    public func freeGPUs(class cls: SubgroupClass? = nil, gpuType: String? = nil) -> Int {
        var total = 0
        for n in 0..<nodeCount {
            if let cls, Int(s1Class[Int(nodeS1[n])]) != cls.rank { continue }
            if let gpuType, gpuTypes[Int(nodeType[n])] != gpuType { continue }
            total += Int(nodeFree[n])
        }
        return total
    }

    /// The S1 domains (as placements name them) with their class, in topology order.
    public var s1Domains: [(name: String, s2: String, subgroupClass: SubgroupClass)] {
        (0..<s1Count).map { (s1Display[$0], s2Names[Int(s1S2[$0])], SubgroupClass(rank: Int(s1Class[$0]))) }
    }

    /// The S2 domains with the highest class of capacity each holds.
    public var s2Domains: [(name: String, subgroupClass: SubgroupClass)] {
        (0..<s2Count).map { s2 in
            let cls = (Int(s2S1Start[s2])..<Int(s2S1Start[s2 + 1])).map { Int(s1Class[$0]) }.max() ?? 0
            return (s2Names[s2], SubgroupClass(rank: cls))
        }
    }
}

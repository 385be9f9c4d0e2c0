import Foundation
import KubeAPI
import Autoscaling
import Placement

/// How the simulator's autoscalers read an instance's `/metrics`: always through the controller's pipeline
/// (`Metrics.ObservationPipeline`); the difference is only whether the exposition is serialised.
public enum ObservationPath: String, Sendable, Hashable {
    /// Render the Prometheus text and parse it with the controller's parser (what a scrape does).
    case text
    /// Hand the same metric families to the pipeline without the text round trip (faster; a test proves
    /// both paths give the same snapshots and decisions).
    case families
}

/// Everything one simulation run needs (built by `ScenarioSpec`, or by hand in tests).
public struct SimulationConfig: Sendable {
    public var cluster: ClusterSpec
    public var performance: PerformanceModel
    public var pools: [PoolSpec]
    /// DeploymentGroups: name → the pool names of its roles (role name = the part after `/`).
    public var groups: [String: [String]]
    /// DeploymentGroups with a P/D ready-ratio gate: name → tolerance (`ReadyRatioGate`).
    public var gates: [String: Double] = [:]
    public var autoscalers: [PodAutoscaler]
    /// Metrics scrape and timeline period, s.
    public var scrapeInterval: Double
    /// Simulated controller restarts (s): every autoscaler forgets its strategy state and counter baselines
    /// and is re-seeded at its next tick by the controller's rule (`AutoscalerState.seeded`).
    public var controllerRestarts: [Double] = []
    /// How an autoscaler tick scrapes the instances in memory (`ObservationPath`).
    public var observation: ObservationPath = .families
    /// Arrivals after this time are not admitted (nil: the whole stream).
    public var duration: Double?
    /// Give up this long after the last arrival even if requests remain (capacity starvation).
    public var drainTimeout: Double
    public var sloTTFTms: Double?
    public var sloTBTms: Double?
    /// Keep every `RequestRecord` in `SimulationResult.requests` (tests, small runs). Off, memory stays flat:
    /// summaries come from `SimulationResult.requestStats` and rows go to `Simulator.requestSink`.
    public var recordRequests: Bool
    /// Simulated time 0 as seconds since 1970 for the strategies' `Date`s.
    public var epoch: Double
    /// DeploymentGroups' placement affinity and priority (name → settings). A pool outside any group is placed
    /// on its own with Cluster affinity.
    public var groupPlacement: [String: GroupPlacementSettings] = [:]
    /// How the placement engine places (`topologyBlind`: the baseline that ignores the topology).
    public var placement = PlacementOptions()
    /// Price of a GPU-hour by GPU type, for the cost columns of the comparison.
    public var gpuPrices: [String: Double] = [:]
    /// The project's own performance semantics, or splitwise-sim's (`PerformanceModelMode`).
    public var performanceModel: PerformanceModelMode = .native
    /// Arrival windows whose requests' SLO attainment is reported on its own (`SimulationResult.windows`): the
    /// workload's flash crowds, as `ScenarioSpec` builds them.
    public var reportWindows: [ReportWindow] = []

    public init(cluster: ClusterSpec, performance: PerformanceModel, pools: [PoolSpec], groups: [String: [String]] = [:],
                autoscalers: [PodAutoscaler] = [], scrapeInterval: Double = 5,
                duration: Double? = nil, drainTimeout: Double = 3600, sloTTFTms: Double? = nil, sloTBTms: Double? = nil,
                recordRequests: Bool = true, epoch: Double = 1_700_000_000) {
        self.cluster = cluster
        self.performance = performance
        self.pools = pools
        self.groups = groups
        self.autoscalers = autoscalers
        self.scrapeInterval = scrapeInterval
        self.duration = duration
        self.drainTimeout = drainTimeout
        self.sloTTFTms = sloTTFTms
        self.sloTBTms = sloTBTms
        self.recordRequests = recordRequests
        self.epoch = epoch
    }
}

/// Where a DeploymentGroup's placements must stay (its `spec.affinity`).
public struct GroupPlacementSettings: Sendable, Hashable {
    public var affinity: AffinityDomain
    public var priority: Int
    public init(affinity: AffinityDomain = .cluster, priority: Int = 0) {
        self.affinity = affinity
        self.priority = priority
    }
}

public struct SimulationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What happened to one request. Times in simulated seconds.
public struct RequestRecord: Sendable, Hashable {
    public var id: Int
    public var arrival: Double
    public var promptTokens: Int
    public var outputTokens: Int
    public var prefillStart: Double
    /// The first token (end of prefill).
    public var firstToken: Double
    public var completion: Double
    public var generatedTokens: Int
    public var prefillInstance: Int
    public var decodeInstance: Int
    /// Seconds the KV cache took from the prefill to the decode instance (0 when one instance did both).
    public var kvTransferSeconds = 0.0
    /// Bytes of KV cache moved.
    public var kvBytes = 0.0
    /// splitwise-sim's TBT (`performanceModel: splitwiseCompat`): over every output token, not per gap.
    public var tbtOverOutputTokens = false
    public var ttft: Double { firstToken - arrival }
    /// Both SLOs met: TTFT and mean TBT within their limits (milliseconds; a missing limit always holds).
    public func meetsSLO(ttftMs: Double?, tbtMs: Double?) -> Bool {
        (ttftMs.map { ttft * 1000 <= $0 } ?? true) && (tbtMs.map { tbt * 1000 <= $0 } ?? true)
    }
    public var queueTime: Double { prefillStart - arrival }
    public var responseTime: Double { completion - arrival }
    /// Mean inter-token gap after the first token (0 for one-token outputs); with `tbtOverOutputTokens`,
    /// splitwise-sim's (completion − first token) ÷ output tokens.
    public var tbt: Double {
        if tbtOverOutputTokens { return generatedTokens > 0 ? (completion - firstToken) / Double(generatedTokens) : 0 }
        return generatedTokens > 1 ? (completion - firstToken) / Double(generatedTokens - 1) : 0
    }
}

enum SimEvent: Sendable {
    case arrival
    case prefillDone(Int)
    case decodeDone(Int)
    case transferDone(slot: Int, instance: Int)
    case instanceReady(Int)
    case scrape
    case tick(Int)
    case controllerRestart
    case setReplicas(pool: Int, replicas: Int)
}

struct RequestState {
    var request: Request
    var prefillInstance = -1
    var decodeInstance = -1
    var prefillStart = -1.0
    var firstToken = -1.0
    var lastToken = -1.0
    var generated = 0
    var kvTransfer = 0.0
    var kvBytes = 0.0
    var context: Int { request.promptTokens + generated }
}

struct PoolRuntime {
    var spec: PoolSpec
    /// The performance profile of an instance by the GPU type it was placed on.
    var profiles: [String: HardwareProfile]
    var desired: Int
    var live: [Int] = []
    var unschedulable = 0
    var roleName: String
    /// Serving instances the P/D gate admits (all serving ones when the pool is not gated).
    var admitted = 0
}

/// The discrete-event P/D cluster simulator. Not thread-safe; one run per instance.
public final class Simulator {
    let config: SimulationConfig
    var queue = EventQueue<SimEvent>()
    var now = 0.0
    /// The cluster as the placement engine sees it; instances hold their GPUs in it.
    var topology: Topology
    let bandwidth: TransferBandwidth
    /// `performanceModel: splitwiseCompat` (splitwise-sim's decode step, KV transfer and TBT).
    let splitwiseCompat: Bool
    /// Placement units: each DeploymentGroup, and each pool outside one.
    var groups: [SimGroup] = []
    var groupOfPool: [Int] = []
    /// GPUs allocated per GPU type, and their GPU-seconds so far (`GPUTypeAccounts`).
    var gpusByType = GPUTypeAccounts()
    var pools: [PoolRuntime] = []
    var instances: [SimInstance] = []
    var slots: [RequestState] = []
    var freeSlots: [Int] = []
    var prefillBacklog: [Int] = []
    var decodeBacklog: [Int] = []
    var servingPrefill: [Int] = []
    var servingDecode: [Int] = []
    /// `decodeDone`'s per-step buffers, kept to reuse their storage.
    var irregularScratch: [(Double, Int)] = []
    var finishedScratch: [Int] = []
    var stream: AnyRequestStream
    var pendingArrival: Request?
    var lastArrival = 0.0
    var streamDone = false
    // accounting
    var inFlight = 0
    var inSystemArea = 0.0
    var gpusAllocated = 0
    var gpuSeconds = 0.0
    var lastAccounting = 0.0
    public internal(set) var result = SimulationResult()
    var autoscalers: [AutoscalerRuntime] = []
    var current = IntervalAggregate()
    /// Instances keep vLLM's counters and histograms only when an autoscaler reads them (runs without
    /// autoscalers pay nothing for the exposition); a live engine always keeps them (its pods serve `/metrics`).
    var exposesMetrics: Bool

    /// Called after every autoscaler decision with what it observed (tests, tracing); when set, the
    /// instances' `/metrics` text is rendered for it on either `ObservationPath`.
    public var tickObserver: ((TickRecord) -> Void)?
    /// Called at every scrape with the simulated time (for a progress bar); must be cheap.
    public var progress: ((Double) -> Void)?
    /// Called with every finished request and whether it met both SLOs (streaming `requests.csv`, so that
    /// memory stays flat with `recordRequests` off).
    public var requestSink: ((RequestRecord, Bool) -> Void)?

    /// Requests lost with a removed live instance (`LiveEngine.removeInstance`); empty in batch runs.
    var lostRequests: [LostRequest] = []

    /// Gated DeploymentGroups: tolerance and member pool indices.
    var gatedGroups: [(tolerance: Double, members: [Int])] = []

    public init(config: SimulationConfig, stream: some RequestStream) throws {
        self.config = config
        self.stream = stream.eraseToAnyStream()
        topology = Topology(nodes: config.cluster.kubeNodes())
        bandwidth = config.cluster.bandwidth ?? TransferBandwidth()
        splitwiseCompat = config.performanceModel == .splitwiseCompat
        exposesMetrics = !config.autoscalers.isEmpty
        for spec in config.pools {
            var profiles: [String: HardwareProfile] = [:]
            for type in spec.gpuTypes ?? [spec.gpuType] {
                let hw = spec.hardware ?? type
                guard let profile = config.performance.profile(model: spec.model, hardware: hw, tensorParallel: spec.tensorParallel) else {
                    throw SimulationError("pool \(spec.name): no performance profile for \(spec.model)/\(hw)/TP\(spec.tensorParallel); have \(config.performance.keys.map(\.description).joined(separator: ", "))")
                }
                if splitwiseCompat && profile.referenceTokenTime == nil {
                    throw SimulationError("pool \(spec.name): performanceModel: splitwiseCompat needs the profiled table for \(spec.model)/\(hw)/TP\(spec.tensorParallel) (splitwise-sim's token-time predictor); add the splitwise CSV to profiles")
                }
                profiles[type] = profile
            }
            let roleName = spec.name.split(separator: "/").last.map(String.init) ?? spec.name
            pools.append(PoolRuntime(spec: spec, profiles: profiles, desired: max(0, spec.replicas), roleName: roleName))
        }
        result.windows = config.reportWindows.map { WindowOutcome(window: $0) }
        setUpGroups()
        try setUpAutoscalers()
        for (group, tolerance) in config.gates.sorted(by: { $0.key < $1.key }) {
            let members = (config.groups[group] ?? []).compactMap { m in pools.firstIndex { $0.spec.name == m } }
            if members.count > 1 { gatedGroups.append((tolerance, members)) }
        }
    }

    /// Runs to the end: all admitted requests finished (or `drainTimeout` after the last arrival).
    public func run() throws -> SimulationResult {
        for g in groups.indices { reconcileGroup(g, warm: true) }
        try pullArrival()
        queue.push(.scrape, at: config.scrapeInterval)
        for (i, a) in autoscalers.enumerated() { queue.push(.tick(i), at: a.tick) }
        for t in config.controllerRestarts { queue.push(.controllerRestart, at: t) }
        while let e = queue.pop() {
            if streamDone && inFlight == 0 { break }
            if streamDone && e.time > lastArrival + config.drainTimeout { break }
            account(to: e.time)
            try dispatch(e.payload)
        }
        result.endTime = now
        result.gpuSeconds = gpuSeconds
        result.gpuSecondsByType = gpusByType.secondsByType
        result.placementWarnings = topology.warnings
        result.inSystemArea = inSystemArea
        result.lastArrival = lastArrival
        result.unfinished = inFlight
        result.preemptions = instances.reduce(0) { $0 + $1.preemptions }
        return result
    }

    /// Handles one event at `now` (the batch loop of `run()` and `LiveEngine.advance(to:)`). Work events of a
    /// released instance are stale: only a live instance removed with work in hand leaves them (its requests
    /// were re-routed or lost by `removeInstance`; a transfer still on its way to it is lost on arrival).
    func dispatch(_ payload: SimEvent) throws {
        switch payload {
        case .arrival: try handleArrival()
        case .prefillDone(let i): if instances[i].state != .released { prefillDone(instances[i]) }
        case .decodeDone(let i): if instances[i].state != .released { decodeDone(instances[i]) }
        case .transferDone(let slot, let i):
            if instances[i].state != .released { transferDone(slot: slot, instances[i]) } else { lose(slot, on: instances[i]) }
        case .instanceReady(let i): instanceReady(instances[i])
        case .scrape:
            scrape()
            progress?(now)
            queue.push(.scrape, at: now + config.scrapeInterval)
        case .tick(let i):
            tick(i)
            queue.push(.tick(i), at: now + autoscalers[i].tick)
        case .controllerRestart:
            restartController()
        case .setReplicas(let p, let n):
            pools[p].desired = n
            reconcileGroup(groupOfPool[p])
        }
    }

    /// Sets a pool's replicas at a simulated time (fixed schedules, tests). Call before `run()`.
    public func schedule(pool name: String, replicas: Int, at time: Double) throws {
        guard let p = pools.firstIndex(where: { $0.spec.name == name }) else { throw SimulationError("no pool \(name)") }
        queue.push(.setReplicas(pool: p, replicas: max(0, replicas)), at: time)
    }

    func account(to t: Double) {
        let dt = t - lastAccounting
        if dt > 0 {
            inSystemArea += Double(inFlight) * dt
            gpuSeconds += Double(gpusAllocated) * dt
            gpusByType.accumulate(dt)
        }
        lastAccounting = t
        now = t
    }

    // MARK: Arrivals and routing

    func pullArrival() throws {
        guard let r = try stream.next(), config.duration.map({ r.arrival < $0 }) ?? true else {
            streamDone = true
            pendingArrival = nil
            return
        }
        pendingArrival = r
        queue.push(.arrival, at: max(now, r.arrival))
    }

    func handleArrival() throws {
        guard let r = pendingArrival else { return }
        lastArrival = now
        inFlight += 1
        result.arrived += 1
        result.tokensAsked += r.outputTokens
        result.peakInFlight = max(result.peakInFlight, inFlight)
        let slot: Int
        if let s = freeSlots.popLast() {
            slot = s
            slots[s] = RequestState(request: r)
        } else {
            slot = slots.count
            slots.append(RequestState(request: r))
        }
        routePrefill(slot)
        try pullArrival()
    }

    func routePrefill(_ slot: Int) {
        var best: SimInstance?
        for i in servingPrefill {
            let c = instances[i]
            if best == nil || c.pendingPromptTokens < best!.pendingPromptTokens { best = c }
        }
        guard let inst = best else { prefillBacklog.append(slot); return }
        inst.promptQueue.append(slot)
        inst.pendingPromptTokens += slots[slot].request.promptTokens
        kick(inst)
    }

    func routeDecode(_ slot: Int, from source: SimInstance) {
        if source.role == .mixed {
            enqueueDecode(slot, source) // the caller (prefillDone) kicks the instance afterwards
            return
        }
        var best: SimInstance?
        for i in servingDecode {
            let c = instances[i]
            if best == nil || Double(c.kvLoad) / Double(c.kvCapacity) < Double(best!.kvLoad) / Double(best!.kvCapacity) { best = c }
        }
        guard let target = best else { decodeBacklog.append(slot); return }
        let tokens = slots[slot].context
        let bytes = Double(slots[slot].request.promptTokens) * Double(source.profile.kvBytesPerToken ?? 0)
        let seconds = splitwiseCompat
            ? bytes / SplitwiseCompat.transferBytesPerSecond
            : bytes / bandwidth.bytesPerSecond(locality(source, target))
        slots[slot].kvTransfer += seconds
        slots[slot].kvBytes += bytes
        target.inbound += 1
        target.inboundTokens += tokens
        queue.push(.transferDone(slot: slot, instance: target.id), at: now + seconds)
    }

    func transferDone(slot: Int, _ inst: SimInstance) {
        inst.inbound -= 1
        inst.inboundTokens -= slots[slot].context
        enqueueDecode(slot, inst)
        kick(inst)
    }

    func enqueueDecode(_ slot: Int, _ inst: SimInstance) {
        slots[slot].decodeInstance = inst.id
        inst.waiting.append(slot)
        inst.waitingTokens += slots[slot].context
    }

    // MARK: Instance work

    /// Starts the next iteration of an idle instance: prompts first, then a decode step.
    func kick(_ inst: SimInstance) {
        guard !inst.busy, inst.state == .serving || inst.state == .draining else { return }
        if inst.queuedPrompts > 0 {
            var batch = PrefillBatch()
            inst.prefillBatch.removeAll(keepingCapacity: true)
            while inst.promptHead < inst.promptQueue.count {
                let s = inst.promptQueue[inst.promptHead]
                let p = slots[s].request.promptTokens
                if !inst.prefillBatch.isEmpty && batch.tokens + p > inst.maxBatchTokens { break }
                batch.add(prompt: p)
                inst.prefillBatch.append(s)
                inst.promptHead += 1
                slots[s].prefillStart = now
                slots[s].prefillInstance = inst.id
            }
            if inst.promptHead > 1024 && inst.promptHead * 2 > inst.promptQueue.count {
                inst.promptQueue.removeFirst(inst.promptHead)
                inst.promptHead = 0
            }
            inst.busy = true
            inst.iterationStart = now
            let seconds = splitwiseCompat
                ? inst.profile.referencePrefillTime(batchTokens: batch.tokens)
                : inst.profile.prefillTime(batch)
            queue.push(.prefillDone(inst.id), at: now + seconds)
            return
        }
        if inst.role != .prefill {
            admit(inst)
            if !inst.running.isEmpty {
                inst.residentSeen = true
                inst.busy = true
                inst.iterationStart = now
                let dt = splitwiseCompat
                    ? inst.profile.referenceIterationTime(promptTokens: 0, decodeRequests: inst.running.count)
                    : inst.profile.decodeTime(batchSize: inst.running.count, contextTokens: inst.kvUsed)
                queue.push(.decodeDone(inst.id), at: now + dt)
                return
            }
        }
        // A live (externally owned) instance out of service stays: its pod still exists until removed.
        if inst.state == .draining && inst.idle && !inst.external { release(inst) }
    }

    /// Continuous batching: admit waiting requests while batch size and KV capacity allow; preempt the
    /// latest-admitted requests (back to the head of the queue, KV freed) when the next step would overflow.
    func admit(_ inst: SimInstance) {
        var admitted = 0
        while admitted < inst.waiting.count, inst.running.count < inst.maxBatchSize {
            let s = inst.waiting[admitted]
            let ctx = slots[s].context
            if !inst.running.isEmpty && inst.kvUsed + ctx + inst.running.count + 1 > inst.kvCapacity { break }
            inst.running.append(s)
            inst.kvUsed += ctx
            inst.waitingTokens -= ctx
            admitted += 1
        }
        if admitted > 0 { inst.waiting.removeFirst(admitted) }
        while inst.running.count > 1 && inst.kvUsed + inst.running.count > inst.kvCapacity {
            let victim = inst.running.removeLast()
            let ctx = slots[victim].context
            inst.kvUsed -= ctx
            inst.waiting.insert(victim, at: 0)
            inst.waitingTokens += ctx
            inst.preemptions += 1
        }
        result.maxKVResidentFraction = max(result.maxKVResidentFraction, Double(inst.kvUsed + inst.running.count) / Double(inst.kvCapacity))
    }

    func prefillDone(_ inst: SimInstance) {
        inst.busy = false
        inst.busySeconds += now - inst.iterationStart
        let batch = inst.prefillBatch
        inst.prefillBatch.removeAll(keepingCapacity: true)
        for s in batch {
            let p = slots[s].request.promptTokens
            inst.pendingPromptTokens -= p
            inst.promptTokensTotal += p
            inst.generationTokensTotal += 1
            slots[s].firstToken = now
            slots[s].lastToken = now
            slots[s].generated = 1
            let ttft = now - slots[s].request.arrival
            if exposesMetrics { inst.counters.ttft.observe(ttft) }
            current.ttfts.append(ttft)
            if slots[s].request.outputTokens <= 1 { complete(s) } else { routeDecode(s, from: inst) }
        }
        kick(inst)
    }

    func decodeDone(_ inst: SimInstance) {
        inst.busy = false
        let t = now
        let dt = t - inst.iterationStart
        inst.busySeconds += dt
        // Work on locals: class and array accesses in this per-token loop are the simulator's hot path.
        var running: [Int] = []
        swap(&running, &inst.running)
        let n = running.count
        var kept = 0
        var irregular: [(Double, Int)] = []
        var finished: [Int] = []
        swap(&irregular, &irregularScratch)
        swap(&finished, &finishedScratch)
        irregular.removeAll(keepingCapacity: true)
        finished.removeAll(keepingCapacity: true)
        var kvDelta = 0
        let threshold = dt * 1.000001 + 1e-12
        slots.withUnsafeMutableBufferPointer { slots in
            for k in 0..<n {
                let s = running[k]
                let gap = t - slots[s].lastToken
                if gap > threshold { irregular.append((gap, 1)) }
                slots[s].lastToken = t
                slots[s].generated += 1
                kvDelta += 1
                if slots[s].generated >= slots[s].request.outputTokens {
                    kvDelta -= slots[s].context
                    finished.append(s)
                } else {
                    running[kept] = s
                    kept += 1
                }
            }
        }
        running.removeLast(n - kept)
        swap(&running, &inst.running)
        inst.kvUsed += kvDelta
        inst.generationTokensTotal += n
        current.itls += irregular
        if n - irregular.count > 0 { current.itls.append((dt, n - irregular.count)) }
        if exposesMetrics {
            for (gap, k) in irregular { inst.counters.itl.observe(gap, times: k) }
            inst.counters.itl.observe(dt, times: n - irregular.count)
        }
        for s in finished { complete(s) }
        swap(&irregular, &irregularScratch)
        swap(&finished, &finishedScratch)
        kick(inst)
    }

    func complete(_ slot: Int) {
        let st = slots[slot]
        inFlight -= 1
        result.completed += 1
        result.tokensOut += st.generated
        if exposesMetrics {
            // vLLM counts a finished request, and its sizes and latency, on the engine that finished it.
            let finisher = instances[st.decodeInstance >= 0 ? st.decodeInstance : st.prefillInstance]
            finisher.counters.requestSuccess += 1
            finisher.counters.e2e.observe(now - st.request.arrival)
            finisher.counters.promptTokens.observe(Double(st.request.promptTokens))
            finisher.counters.generationTokens.observe(Double(st.generated))
        }
        let record = RequestRecord(
            id: st.request.id, arrival: st.request.arrival, promptTokens: st.request.promptTokens,
            outputTokens: st.request.outputTokens, prefillStart: st.prefillStart, firstToken: st.firstToken,
            completion: now, generatedTokens: st.generated, prefillInstance: st.prefillInstance,
            decodeInstance: st.decodeInstance, kvTransferSeconds: st.kvTransfer, kvBytes: st.kvBytes,
            tbtOverOutputTokens: splitwiseCompat)
        result.promptTokensDone += st.request.promptTokens
        let met = record.meetsSLO(ttftMs: config.sloTTFTms, tbtMs: config.sloTBTms)
        result.requestStats.add(record, meetsSLO: met)
        for i in config.reportWindows.indices where config.reportWindows[i].contains(record.arrival) {
            result.windows[i].completed += 1
            if met { result.windows[i].sloMet += 1 }
        }
        requestSink?(record, met)
        if config.recordRequests { result.requests.append(record) }
        freeSlots.append(slot)
    }

    // MARK: Instances and scaling

    func instanceReady(_ inst: SimInstance) {
        guard inst.state == .starting else { return }
        enterService(inst)
    }

    /// Puts an instance in service: routing, then the cluster backlogs it can take, then its own work.
    func enterService(_ inst: SimInstance) {
        inst.state = .serving
        refreshRouting()
        let pb = prefillBacklog
        prefillBacklog.removeAll()
        for s in pb { routePrefill(s) }
        if !servingDecode.isEmpty {
            let db = decodeBacklog
            decodeBacklog.removeAll()
            for s in db { routeDecode(s, from: instances[slots[s].prefillInstance]) }
        }
        kick(inst)
    }

    func refreshRouting() {
        servingPrefill.removeAll()
        servingDecode.removeAll()
        for p in pools.indices { pools[p].admitted = pools[p].live.filter { instances[$0].state == .serving }.count }
        for (tolerance, members) in gatedGroups {
            let admitted = ReadyRatioGate.admitted(
                members.map { ReadyRatioGate.Role(name: pools[$0].roleName, weight: pools[$0].spec.weight ?? 1, ready: pools[$0].admitted) },
                tolerance: tolerance)
            for (p, a) in zip(members, admitted) { pools[p].admitted = a }
        }
        for p in pools {
            // The oldest serving instances are the admitted ones (they were in the endpoints first).
            for i in p.live.filter({ instances[$0].state == .serving }).prefix(p.admitted) {
                switch instances[i].role {
                case .prefill: servingPrefill.append(i)
                case .decode: servingDecode.append(i)
                case .mixed: servingPrefill.append(i)
                }
            }
        }
    }

    func release(_ inst: SimInstance) {
        guard inst.state != .released else { return }
        inst.state = .released
        if !inst.external { topology.release(nodeAt: inst.node, gpus: inst.gpus) }
        gpusAllocated -= inst.gpus
        gpusByType.add(-inst.gpus, to: inst.gpuType)
        pools[inst.pool].live.removeAll { $0 == inst.id }
        refreshRouting()
    }
}

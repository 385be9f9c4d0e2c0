import Foundation
import Placement

/// A request that was lost because the instance holding it was removed (its pod deleted) after its response
/// had started: it had emitted at least its first token, so a router cannot retry it transparently.
public struct LostRequest: Sendable, Hashable {
    public var id: Int
    public var arrival: Double
    public var promptTokens: Int
    public var outputTokens: Int
    /// Tokens the client had received (the first one included).
    public var generatedTokens: Int
    /// The removed instance (`LiveEngine` id) that held the request or was receiving its KV cache.
    public var instance: String
    /// Simulated time of the loss.
    public var time: Double
}

/// What removing an instance did to the requests it held.
public struct RemovalOutcome: Sendable, Hashable {
    /// Requests with no token out yet (queued or prefilling): routed again from the start.
    public var rerouted = 0
    /// Requests already streaming (decoding or waiting to decode there): lost (`LiveEngine.lost`). Requests
    /// whose KV cache was on its way to the instance are lost when the transfer would have landed.
    public var lost = 0
}

/// One live instance as its `/metrics` endpoint would show it: current gauges, cumulative counters since the
/// instance was added, and the last periodic sample (interval rates, GPU utilisation and SM activity, `InstanceSample`); latencies are in the
/// exposition's histograms.
public struct LiveInstanceStatus: Sendable, Hashable {
    public var id: String
    public var pool: String
    public var role: InstanceRole
    public var gpuType: String
    /// `starting` (added, never in service), `serving` (receives new requests), `draining` (out of service:
    /// finishes what it holds, then idles until back in service or removed), `released` (removed).
    public var state: InstanceState
    public var createdAt: Double
    /// When it last entered service (nil: never).
    public var readyAt: Double?
    /// Requests in the running batch (decode/mixed) plus the prompts of a prefill iteration in progress.
    public var running: Int
    /// Requests waiting to decode plus queued prompts.
    public var waiting: Int
    public var kvUsedTokens: Int
    public var kvCapacityTokens: Int
    /// kvUsedTokens ÷ kvCapacityTokens (vLLM's `kv_cache_usage_perc`, 0…1).
    public var kvUsage: Double
    /// Cumulative prompt tokens prefilled and tokens generated (the first token included), as vLLM's counters.
    public var promptTokensTotal: Int
    public var generationTokensTotal: Int
    public var preemptionsTotal: Int
    /// The last scrape-interval sample (every `SimulationConfig.scrapeInterval` of simulated time).
    public var sample: InstanceSample
}

/// The simulator as a live data plane: the caller owns instance membership and readiness and drives simulated
/// time; the engine serves the request stream on whatever is in service. Pure and clock-free: nothing happens
/// between calls, `advance(to:)` processes every event up to the time given. Not thread-safe.
///
/// Differences from `Simulator.run()`: no pools' replicas, placement, autoscalers or P/D gate (the controller
/// and the API emulator own those: a pod's Ready condition, gate included, is `setServing`); instances hold
/// no GPUs in the topology (a named node only sets the KV-transfer locality); the run never ends.
public final class LiveEngine {
    let sim: Simulator
    var index: [String: Int] = [:]

    /// `config.pools` name the pools instances may be added to (their `replicas`, the autoscalers and the
    /// gates are ignored); the stream's arrivals are admitted as time advances.
    public init(config: SimulationConfig, stream: some RequestStream) throws {
        var config = config
        config.autoscalers = []
        config.gates = [:]
        sim = try Simulator(config: config, stream: stream)
        sim.exposesMetrics = true
        for p in sim.pools.indices { sim.pools[p].desired = 0 }
        try sim.pullArrival()
        sim.queue.push(.scrape, at: config.scrapeInterval)
    }

    /// Simulated time: the last `advance(to:)` target (0 at the start).
    public var now: Double { sim.now }
    /// The time of the next pending event (an arrival, an iteration's end, a scrape), if any.
    public var nextEventTime: Double? { sim.queue.nextTime }
    /// Requests admitted and not yet finished or lost.
    public var inFlight: Int { sim.inFlight }
    /// Counters and records so far, as `run()` would return them now (`requests` holds every finished request
    /// when `recordRequests` is on; `unfinished` is what is in flight; lost requests are in `lost`).
    public var result: SimulationResult {
        var r = sim.result
        r.endTime = sim.now
        r.gpuSeconds = sim.gpuSeconds
        r.placementWarnings = sim.topology.warnings
        r.inSystemArea = sim.inSystemArea
        r.lastArrival = sim.lastArrival
        r.unfinished = sim.inFlight
        r.preemptions = sim.instances.reduce(0) { $0 + $1.preemptions }
        return r
    }
    /// Every request lost with a removed instance, in order.
    public var lost: [LostRequest] { sim.lostRequests }
    /// Called with every finished request and whether it met both SLOs.
    public var requestSink: ((RequestRecord, Bool) -> Void)? {
        get { sim.requestSink }
        set { sim.requestSink = newValue }
    }

    /// Processes every event at or before `t` (arrivals included), then sets the clock to `t`. Advancing in
    /// several steps gives the same requests' outcomes as one step to the same time.
    public func advance(to t: Double) throws {
        guard t >= sim.now else { throw SimulationError("advance(to: \(t)): time is already \(sim.now)") }
        while let next = sim.queue.nextTime, next <= t, let e = sim.queue.pop() {
            sim.account(to: e.time)
            try sim.dispatch(e.payload)
        }
        sim.account(to: t)
    }

    /// Adds a `starting` instance of a pool (a pod created): it takes no work until `setServing(id:true)`.
    /// `gpuType` defaults to the pool's first; `node`, if the cluster has it, sets its KV-transfer locality
    /// (unknown or nil: the `across` bandwidth).
    public func addInstance(id: String, pool: String, gpuType: String? = nil, node: String? = nil) throws {
        guard index[id] == nil else { throw SimulationError("instance \(id) exists") }
        guard let p = sim.pools.firstIndex(where: { $0.spec.name == pool }) else { throw SimulationError("no pool \(pool)") }
        let spec = sim.pools[p].spec
        let type = gpuType ?? spec.gpuTypes?.first ?? spec.gpuType
        guard let profile = sim.pools[p].profiles[type] else { throw SimulationError("pool \(pool): no profile for GPU type \(type)") }
        let inst = SimInstance(
            id: sim.instances.count, pool: p, role: spec.role, profile: profile,
            node: node.flatMap { sim.topology.nodeIndex(named: $0) } ?? -1, gpuType: type, placement: -1,
            gpus: spec.tensorParallel, now: sim.now, coldStart: 0,
            maxBatchTokens: spec.maxBatchTokens ?? 8192, maxBatchSize: spec.maxBatchSize ?? 256)
        inst.external = true
        inst.externalID = id
        sim.instances.append(inst)
        sim.pools[p].live.append(inst.id)
        sim.pools[p].desired += 1
        sim.gpusAllocated += inst.gpus
        sim.gpusByType.add(inst.gpus, to: type)
        index[id] = inst.id
    }

    /// Puts an instance in or out of service (its pod's Ready condition, the P/D gate included). In service it
    /// receives new requests (and takes the cluster's backlog); out of service it gets none and finishes what
    /// it holds (queued prompts, running and waiting requests, KV on its way) — the soft scale-in drain — then
    /// idles. Setting the current state again does nothing.
    public func setServing(id: String, _ serving: Bool) throws {
        let inst = try instance(named: id)
        switch (inst.state, serving) {
        case (.starting, true), (.draining, true):
            inst.readyAt = sim.now
            sim.enterService(inst)
        case (.serving, false):
            inst.state = .draining
            sim.refreshRouting()
        case (.released, _): throw SimulationError("instance \(id) was removed")
        default: break
        }
    }

    /// Removes an instance at once (its pod deleted, no grace): what a gateway in front of vLLM does when the
    /// upstream connection resets. Requests with no token out yet — queued prompts and the prefill iteration
    /// in progress — are retried on the serving instances (the response had not started, so the retry is
    /// invisible but for the latency); requests already streaming are lost (`lost`), as is a request whose
    /// prefill finished here and is waiting for a decode instance (its KV cache went with the pod). Drain
    /// first (`setServing(id:false)` until idle) to lose nothing.
    @discardableResult
    public func removeInstance(id: String) throws -> RemovalOutcome {
        let inst = try instance(named: id)
        guard inst.state != .released else { throw SimulationError("instance \(id) was removed") }
        var outcome = RemovalOutcome()
        var retry = Array(inst.prefillBatch)
        retry += inst.promptQueue[inst.promptHead...]
        let streaming = inst.running + inst.waiting
        let stranded = sim.decodeBacklog.filter { sim.slots[$0].prefillInstance == inst.id }
        sim.decodeBacklog.removeAll { sim.slots[$0].prefillInstance == inst.id }
        inst.prefillBatch.removeAll()
        inst.promptQueue.removeAll()
        inst.promptHead = 0
        inst.pendingPromptTokens = 0
        inst.running.removeAll()
        inst.waiting.removeAll()
        inst.waitingTokens = 0
        inst.kvUsed = 0
        inst.busy = false
        sim.release(inst) // GPUs and routing
        sim.pools[inst.pool].desired -= 1
        for s in streaming + stranded {
            sim.lose(s, on: inst)
            outcome.lost += 1
        }
        for s in retry {
            let request = sim.slots[s].request
            sim.slots[s] = RequestState(request: request)
            sim.routePrefill(s)
            outcome.rerouted += 1
        }
        return outcome
    }

    /// The instances' ids in the order they were added (removed ones included).
    public var instanceIDs: [String] { sim.instances.filter(\.external).map(\.externalID) }

    /// The observable state of an instance (nil: unknown id).
    public func status(_ id: String) -> LiveInstanceStatus? {
        guard let i = index[id] else { return nil }
        let inst = sim.instances[i]
        return LiveInstanceStatus(
            id: id, pool: sim.pools[inst.pool].spec.name, role: inst.role, gpuType: inst.gpuType, state: inst.state,
            createdAt: inst.createdAt, readyAt: inst.state == .starting ? nil : inst.readyAt,
            running: inst.running.count + (inst.busy && inst.role != .decode ? inst.prefillBatch.count : 0),
            waiting: inst.waiting.count + inst.queuedPrompts, kvUsedTokens: inst.kvUsed,
            kvCapacityTokens: inst.kvCapacity, kvUsage: Double(inst.kvUsed) / Double(inst.kvCapacity),
            promptTokensTotal: inst.promptTokensTotal, generationTokensTotal: inst.generationTokensTotal,
            preemptionsTotal: inst.preemptions, sample: inst.sample)
    }

    /// What the instance's `/metrics` serves now (Prometheus text format 0.0.4, vLLM's families and labels, the
    /// pool's model as `model_name`; the same writer as the batch run's `observation: text` path). Nil: unknown
    /// id. Counters and histograms are cumulative since `addInstance`, times `counterScale` (1/N for a session
    /// that runs N× faster than the wall clock, so their rates over wall seconds are per simulated second).
    public func metricsText(_ id: String, counterScale: Double = 1) -> String? {
        guard let i = index[id] else { return nil }
        let inst = sim.instances[i]
        return inst.metricsText(model: sim.pools[inst.pool].spec.model, counterScale: counterScale)
    }

    func instance(named id: String) throws -> SimInstance {
        guard let i = index[id] else { throw SimulationError("no instance \(id)") }
        return sim.instances[i]
    }
}

extension Simulator {
    /// The locality of two instances' nodes; an instance on no known node (a live one) is `across`.
    func locality(_ a: SimInstance, _ b: SimInstance) -> Locality {
        a.node < 0 || b.node < 0 ? .across : topology.locality(a.node, b.node)
    }

    /// A request lost with a removed instance: out of the system, its slot free.
    func lose(_ slot: Int, on inst: SimInstance) {
        let st = slots[slot]
        lostRequests.append(LostRequest(
            id: st.request.id, arrival: st.request.arrival, promptTokens: st.request.promptTokens,
            outputTokens: st.request.outputTokens, generatedTokens: st.generated, instance: inst.externalID, time: now))
        inFlight -= 1
        freeSlots.append(slot)
    }
}

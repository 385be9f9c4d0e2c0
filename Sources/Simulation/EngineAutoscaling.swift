import Foundation
import KubeAPI
import Autoscaling
import Metrics

/// One PodAutoscaler inside a run: its target pools, its decision state and the controller's observation
/// memory (counter and histogram baselines, the last collection's time).
struct AutoscalerRuntime {
    var pa: PodAutoscaler
    /// `nil` until the first tick and after a simulated controller restart: the tick then seeds it from the
    /// current replicas with the controller's rule (`AutoscalerState.seeded`, as `AutoscalerStates` does).
    var state: AutoscalerState?
    var tracker = RateTracker()
    var lastCollect: Date?
    var tick: Double
    /// Target pools (one for a Deployment or a selected role; every role for a whole DeploymentGroup).
    var pools: [Int]
    /// True when the decision covers a whole DeploymentGroup (role snapshots, roleReplicas).
    var grouped: Bool
}

extension Simulator {
    func setUpAutoscalers() throws {
        for pa in config.autoscalers {
            let ref = pa.spec.scaleTargetRef
            var targets: [Int]
            var grouped = false
            if let members = config.groups[ref.name] {
                targets = members.compactMap { m in pools.firstIndex { $0.spec.name == m } }
                if let role = pa.spec.subTargetSelector?.roleName {
                    targets = targets.filter { pools[$0].roleName == role }
                } else {
                    grouped = true
                }
            } else {
                targets = pools.indices.filter { pools[$0].spec.name == ref.name }
            }
            guard !targets.isEmpty else {
                throw SimulationError("PodAutoscaler \(pa.metadata.name ?? "?"): scale target \(ref.kind)/\(ref.name)\(pa.spec.subTargetSelector?.roleName.map { " role \($0)" } ?? "") is not in the scenario")
            }
            autoscalers.append(AutoscalerRuntime(pa: pa, tick: Autoscaler.tickSeconds(pa.spec), pools: targets, grouped: grouped))
        }
    }

    func date(_ t: Double) -> Date { Date(timeIntervalSince1970: config.epoch + t) }

    /// The key the observation memory of autoscaler `a` is kept under (the controller's "namespace/name").
    func observationKey(_ a: AutoscalerRuntime) -> String { "default/" + (a.pa.metadata.name ?? a.pa.spec.scaleTargetRef.name) }

    /// The target's pods as the controller lists them: name, Ready (serving), phase (a cold pod is pending, a
    /// draining one deleting), the DeploymentGroup role label (pools of a group), start and ready times;
    /// sorted by name. Each carries its instance.
    func targetPods(_ a: AutoscalerRuntime) -> [(info: MetricsCollector.PodInfo, instance: Int)] {
        var out: [(info: MetricsCollector.PodInfo, instance: Int)] = []
        for p in a.pools {
            let inGroup = config.groups.values.contains { $0.contains(pools[p].spec.name) }
            for id in pools[p].live {
                let inst = instances[id]
                let serving = inst.state == .serving
                let phase: PodSample.Phase = inst.state == .starting ? .pending : (inst.state == .draining ? .deleting : .running)
                out.append((MetricsCollector.PodInfo(
                    name: "\(pools[p].spec.name)-\(id)", ip: "sim", ready: serving, phase: phase,
                    role: inGroup ? pools[p].roleName : nil, startTime: date(inst.createdAt), readyTime: serving ? date(inst.readyAt) : nil), id))
            }
        }
        return out.sorted { $0.info.name < $1.info.name }
    }

    /// The snapshot of autoscaler `a` through the controller's pipeline (`ObservationPipeline`): every observable
    /// pod's `/metrics` (the instance's exposition) is scraped in memory — rendered as text and parsed by the
    /// controller's parser, or, on the fast path, handed over as the same families — then rates, signals and
    /// source snapshots come out of the same code as in the controller.
    func snapshot(_ a: inout AutoscalerRuntime) -> (snapshot: ScalingSnapshot, pods: [MetricsCollector.PodInfo], texts: [String: String]) {
        let pods = targetPods(a)
        let wanted = ObservationPipeline.wantedMetrics(a.pa.spec)
        let expanded = PrometheusText.expand(wanted)
        let keepText = tickObserver != nil
        var scraped: [String: PodRead] = [:]
        var texts: [String: String] = [:]
        for (info, id) in pods where info.isObservable {
            let inst = instances[id]
            let families = inst.exposition(model: pools[inst.pool].spec.model)
            let endpoint = "http://sim/instance-\(inst.id)/metrics"
            var text: String?
            if config.observation == .text || keepText { text = PrometheusText.render(families) }
            if keepText { texts[info.name] = text }
            switch config.observation {
            case .families:
                scraped[info.name] = .metrics(MetricSet(families.filter { PrometheusText.isWanted($0.name, expanded) }), endpoint: endpoint)
            case .text:
                // The controller's parser on the text a scrape would return.
                if let parsed = try? PrometheusText.parse(Array((text ?? "").utf8), only: wanted) {
                    scraped[info.name] = .metrics(MetricSet(parsed), endpoint: endpoint)
                } else {
                    scraped[info.name] = .failed
                }
            }
        }
        let collection = ObservationPipeline.collect(
            key: observationKey(a), spec: a.pa.spec, pods: pods.map(\.info),
            read: { _, pod in scraped[pod.name] },
            prometheus: { i, rolePods, snapshot, failures in
                failures.append(ScrapeFailure(pod: nil, sourceIndex: i, message: "prometheus sources are not simulated (no Prometheus server in a simulation); use a pod source"))
                snapshot.pods = rolePods.map { ObservationPipeline.sample($0, nil) }
            },
            tracker: &a.tracker, lastCollect: &a.lastCollect, now: date(now), quantile: MetricsCollector.Configuration().histogramQuantile)
        let current = a.pools.reduce(0) { $0 + pools[$1].desired }
        let roles = a.grouped ? a.pools.map { p in
            RoleSnapshot(name: pools[p].roleName, weight: pools[p].spec.weight ?? 1, current: pools[p].desired, ready: 0,
                         minReplicas: pools[p].spec.minReplicas, maxReplicas: pools[p].spec.maxReplicas)
        } : []
        let snapshot = ObservationPipeline.snapshot(current: current, pods: pods.map(\.info), roles: roles, collection: collection)
        return (snapshot, pods.map(\.info), texts)
    }

    /// A simulated controller restart: every autoscaler loses its strategy state and its counter baselines,
    /// as a new controller process would; the next tick seeds the state (`AutoscalerState.seeded`).
    func restartController() {
        for i in autoscalers.indices {
            autoscalers[i].state = nil
            autoscalers[i].tracker = RateTracker()
            autoscalers[i].lastCollect = nil
        }
    }

    func tick(_ index: Int) {
        var a = autoscalers[index]
        let observed = snapshot(&a)
        let snap = observed.snapshot
        // The controller's rule for a PodAutoscaler it has no memory of (first sight, or after a restart).
        var state = a.state ?? AutoscalerState.seeded(currentReplicas: snap.currentReplicas, now: date(now))
        let decision = Autoscaler.decide(spec: a.pa.spec, snapshot: snap, state: &state, now: date(now))
        a.state = state
        var roles: [String: Int] = [:]
        if decision.scalingActive {
            if a.grouped {
                // Strategies that size the group as a whole are split by weight, as the controller would.
                let rr = decision.roleReplicas ?? Autoscaler.apportion(total: decision.desiredReplicas, snapshot: snap)
                let counts = a.pools.map { p in rr.first { $0.name == pools[p].roleName }?.replicas ?? pools[p].desired }
                for (p, c) in zip(a.pools, counts) { pools[p].desired = max(0, c) }
            } else if let p = a.pools.first {
                pools[p].desired = max(0, decision.desiredReplicas)
            }
            for g in Set(a.pools.map { groupOfPool[$0] }).sorted() { reconcileGroup(g) }
        }
        for p in a.pools { roles[pools[p].roleName] = pools[p].desired }
        let to = a.pools.reduce(0) { $0 + pools[$1].desired }
        result.scaling.append(ScalingLogEntry(
            time: now, autoscaler: a.pa.metadata.name ?? a.pa.spec.scaleTargetRef.name,
            strategy: decision.details.strategy ?? a.pa.spec.scalingStrategy,
            from: snap.currentReplicas, to: to, roles: roles, active: decision.scalingActive, reason: decision.reason))
        autoscalers[index] = a
        tickObserver?(TickRecord(
            time: now, date: date(now), autoscaler: a.pa.metadata.name ?? a.pa.spec.scaleTargetRef.name, key: observationKey(a),
            pods: observed.pods, texts: observed.texts, snapshot: snap, decision: decision))
    }
}

/// What one autoscaler tick observed and decided (`Simulator.tickObserver`): the pods as the controller would
/// list them, the `/metrics` text of each observable one, the snapshot and the decision.
public struct TickRecord: Sendable {
    public var time: Double
    public var date: Date
    public var autoscaler: String
    /// The key of the observation memory ("default/NAME", as the controller's "namespace/name").
    public var key: String
    public var pods: [MetricsCollector.PodInfo]
    /// Pod name → the Prometheus text its `/metrics` served at this tick (observable pods only).
    public var texts: [String: String]
    public var snapshot: ScalingSnapshot
    public var decision: Decision
}

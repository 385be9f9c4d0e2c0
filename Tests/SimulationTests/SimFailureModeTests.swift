import Foundation
import Autoscaling
import Testing
import YAML

@testable import Simulation

/// The known failure modes of the baseline autoscalers, shown on a scaled-down P/D scenario at a fixed seed:
/// a diurnal day compressed to 10 minutes (llama2-70b, prefill on H100 TP4, decode on H20 TP4) with one flash
/// crowd outside the Periodic policy's schedule. Each policy runs once (in parallel); the tests read the
/// computed metrics of `PolicyOutcome` / `SimulationResult`.
@Suite struct SimFailureModeTests {
    // Wall clock of the strategies: 1_700_000_000 + t = 2023-11-14 22:13:20 UTC + t.
    // Day: trough at t = 0 and 600, peak (16 req/s) at t = 300. Flash crowd x3 at t = 440…520 (22:20:40–22:22:00),
    // after the Periodic policy's peak window (22:15–22:20).
    static let flashStart = 440.0, flashEnd = 520.0
    /// Profiles, model and cluster of both scenarios: prefill on H100 nodes, decode on H20 nodes.
    static func cluster(h100Nodes: Int) -> String {
        """
        profiles: [../profiles/h100.yaml, ../profiles/h20.yaml]
        model: llama2-70b
        cluster:
          nodePools:
            - {gpuType: h100-80gb, gpusPerNode: 8, count: \(h100Nodes)}
            - {gpuType: h20, gpusPerNode: 8, count: 5}
        """
    }

    static let scenario = cluster(h100Nodes: 2) + "\n" + """
        workload:
          arrivals: {kind: diurnal, peakRate: 16, peakToTrough: 8, period: 600, peakAt: 300, flashCrowds: [{factor: 3, start: 440, duration: 80}]}
          sizes: {lognormal: {prompt: {mean: 250, median: 200, min: 16, max: 1000}, output: {mean: 200, median: 150, min: 2, max: 800}}}
          duration: 600
        seed: 11
        slo: {ttftMs: 2000, tbtMs: 40}
        # The autoscalers' TBT SLO is 50 ms: vLLM's ITL histogram has no bound between 25 and 50 ms, so a P90
        # read from it cannot resolve 40 ms (it interpolates to ~47 ms whenever most tokens take 25–50 ms).
        coldStartSeconds: 30
        scrapeInterval: 5
        maxBatchSize: 128
        policies:
          - name: heteroscale
            manifests:
              - &group {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 5, roles: [{name: prefill, weight: 1, gpuType: [h100-80gb], gpusPerInstance: 4, minReplicas: 1, maxReplicas: 4}, {name: decode, weight: 2, gpuType: [h20], gpusPerInstance: 4, minReplicas: 2, maxReplicas: 10}]}}
              - kind: PodAutoscaler
                metadata: {name: svc-hs}
                spec:
                  scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}
                  minReplicas: 3
                  maxReplicas: 14
                  scalingStrategy: HeteroScale
                  # The day is 10 minutes, so the time constants are scaled down (cooldowns 30/120 s, scale-in
                  # stabilisation 30 s instead of 180/600/60).
                  heteroScale: {targetDecodeTPSPerInstance: 300, scaleOutCooldownSeconds: 30, scaleInCooldownSeconds: 120, scaleInStabilizationSeconds: 30, latency: {tbtSLOMilliseconds: 50, ttftSLOMilliseconds: 2000, cooldownSeconds: 30}}
          - name: hpa-gpu
            manifests:
              - &prefill {apiVersion: apps/v1, kind: Deployment, metadata: {name: prefill, labels: {heteroscale.io/role: prefill, heteroscale.io/gpu-type: h100-80gb, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 1}}
              - &decode {apiVersion: apps/v1, kind: Deployment, metadata: {name: decode, labels: {heteroscale.io/role: decode, heteroscale.io/gpu-type: h20, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 2}}
              - {kind: PodAutoscaler, metadata: {name: prefill-hpa}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: prefill}, minReplicas: 1, maxReplicas: 4, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: gpu_utilization, targetValue: "70"}]}}
              - {kind: PodAutoscaler, metadata: {name: decode-hpa}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: decode}, minReplicas: 2, maxReplicas: 10, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: gpu_utilization, targetValue: "70"}]}}
          - name: independent-tps
            manifests:
              - *prefill
              - *decode
              - {kind: PodAutoscaler, metadata: {name: prefill-tps}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: prefill}, minReplicas: 1, maxReplicas: 4, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: vllm:prompt_tokens_total, targetValue: "1125"}]}}
              - {kind: PodAutoscaler, metadata: {name: decode-tps}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: decode}, minReplicas: 2, maxReplicas: 10, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: vllm:generation_tokens_total, targetValue: "450"}]}}
          - name: latency
            manifests:
              - *group
              - {kind: PodAutoscaler, metadata: {name: svc-latency}, spec: {scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}, minReplicas: 3, maxReplicas: 14, scalingStrategy: Latency, heteroScale: {targetDecodeTPSPerInstance: 300, latency: {tbtSLOMilliseconds: 50}}}}
          - name: periodic
            manifests:
              - *group
              - {kind: PodAutoscaler, metadata: {name: svc-periodic}, spec: {scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}, minReplicas: 3, maxReplicas: 14, scalingStrategy: Periodic, schedules: [{name: peak, start: "22:15", end: "22:20", timeZone: UTC, replicas: 10}]}}
        """

    static let outcomes: [String: PolicyOutcome] = {
        let spec = try! ScenarioSpec.parse(scenario)
        let names = spec.policies.map(\.name)
        let lock = NSLock()
        nonisolated(unsafe) var out: [String: PolicyOutcome] = [:]
        DispatchQueue.concurrentPerform(iterations: names.count) { i in
            let o = try! ScenarioRunner.run(spec, baseDirectory: Paths.repo("samples/simulation"), policy: names[i])[0]
            lock.lock(); out[names[i]] = o; lock.unlock()
        }
        return out
    }()

    static func outcome(_ name: String) throws -> PolicyOutcome { try #require(outcomes[name]) }

    /// Decode rows of the timeline (one per scrape for these single-decode-pool policies).
    static func decodeRows(_ o: PolicyOutcome) -> [TimelineRow] {
        o.result.timeline.filter { (row: TimelineRow) in row.role == InstanceRole.decode }
    }

    @Test func everyPolicyFinishesEveryRequest() throws {
        #expect(Self.outcomes.count == 5)
        for (name, o) in Self.outcomes {
            #expect(o.result.arrived > 3000, "\(name)")
            #expect(o.result.completed == o.result.arrived && o.result.unfinished == 0, "\(name)")
        }
    }

    /// Decode GPUs read 80–90 % while any request is resident, so an HPA on GPU utilisation never gives decode
    /// instances back: through the trough (last 100 s of the day, ≤ 20 % of the peak rate) it keeps ≥ 90 % of
    /// its peak decode instances.
    @Test func hpaOnGPUUtilisationKeepsDecodeThroughTheTrough() throws {
        let rows = Self.decodeRows(try Self.outcome("hpa-gpu"))
        let peak = try #require(rows.map(\.ready).max())
        let trough = try #require(rows.filter { $0.time >= 500 && $0.time <= 600 }.map(\.ready).min())
        #expect(peak >= 4)
        #expect(Double(trough) >= 0.9 * Double(peak), "peak \(peak), trough minimum \(trough)")
    }

    /// TBT alone lags (new pods serve only after the cold start) and the policy has no hysteresis band wide
    /// enough, so it overshoots and backs off: more scaling actions than HeteroScale. (It was ≥ 3× while the
    /// simulator gave exact percentiles; read from vLLM's ITL histogram, whose buckets around the 50 ms SLO are
    /// 25 ms wide, the P90 moves in coarser steps and the policy flaps less: 13 against HeteroScale's 8.)
    @Test func pureLatencyFlaps() throws {
        let hs = try Self.outcome("heteroscale").result.scalingActions
        let latency = try Self.outcome("latency").result.scalingActions
        #expect(hs > 0)
        #expect(latency > hs, "latency \(latency), heteroscale \(hs)")
    }

    /// The schedule covers the planned peak, not the unplanned flash crowd: < 90 % of the requests arriving
    /// during the flash crowd meet the SLO.
    @Test func periodicMissesTheFlashCrowd() throws {
        let o = try Self.outcome("periodic")
        let flash = o.result.requests.filter { $0.arrival >= Self.flashStart && $0.arrival < Self.flashEnd }
        #expect(flash.count > 500)
        let attainment = Double(flash.filter(o.meetsSLO).count) / Double(flash.count)
        #expect(attainment < 0.9, "flash-crowd SLO attainment \(attainment)")
    }

    /// Independent pools scaled on their own TPS follow the workload's prompt/output mix, so the P/D ratio moves
    /// with it: a conversation-like phase (short prompts, long outputs) then a code-like one (long prompts,
    /// short outputs). HeteroScale keeps its 1:2 ratio (group totals stay within `ratioTolerance` of it; here
    /// exactly 1:2 throughout): the independent pools' P/D-ratio standard deviation is more than 2× HeteroScale's.
    static let mixShift = cluster(h100Nodes: 4) + "\n" + """
        workload:
          phases:
            - {arrivals: {kind: constant, rate: 6}, sizes: {lognormal: {prompt: {mean: 250, median: 200, min: 16, max: 1000}, output: {mean: 200, median: 150, min: 2, max: 800}}}, duration: 300}
            - {arrivals: {kind: constant, rate: 6}, sizes: {lognormal: {prompt: {mean: 1000, median: 800, min: 64, max: 4000}, output: {mean: 30, median: 20, min: 2, max: 200}}}, duration: 300}
        seed: 5
        slo: {ttftMs: 2000, tbtMs: 40}
        # The autoscalers' TBT SLO is 50 ms: vLLM's ITL histogram has no bound between 25 and 50 ms, so a P90
        # read from it cannot resolve 40 ms (it interpolates to ~47 ms whenever most tokens take 25–50 ms).
        coldStartSeconds: 30
        scrapeInterval: 5
        maxBatchSize: 128
        policies:
          - name: heteroscale
            manifests:
              - {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 6, roles: [{name: prefill, weight: 1, gpuType: [h100-80gb], gpusPerInstance: 4, minReplicas: 1, maxReplicas: 8}, {name: decode, weight: 2, gpuType: [h20], gpusPerInstance: 4, minReplicas: 2, maxReplicas: 10}]}}
              - {kind: PodAutoscaler, metadata: {name: svc-hs}, spec: {scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}, minReplicas: 3, maxReplicas: 18, scalingStrategy: HeteroScale, heteroScale: {targetDecodeTPSPerInstance: 300, scaleOutCooldownSeconds: 30, scaleInCooldownSeconds: 120, latency: {tbtSLOMilliseconds: 50, ttftSLOMilliseconds: 2000, cooldownSeconds: 30}}}}
          - name: independent-tps
            manifests:
              - {apiVersion: apps/v1, kind: Deployment, metadata: {name: prefill, labels: {heteroscale.io/role: prefill, heteroscale.io/gpu-type: h100-80gb, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 2}}
              - {apiVersion: apps/v1, kind: Deployment, metadata: {name: decode, labels: {heteroscale.io/role: decode, heteroscale.io/gpu-type: h20, heteroscale.io/gpus-per-instance: "4"}}, spec: {replicas: 4}}
              - {kind: PodAutoscaler, metadata: {name: prefill-tps}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: prefill}, minReplicas: 1, maxReplicas: 8, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: vllm:prompt_tokens_total, targetValue: "1125"}]}}
              - {kind: PodAutoscaler, metadata: {name: decode-tps}, spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: decode}, minReplicas: 2, maxReplicas: 10, scalingStrategy: HPA, metricsSources: [{metricSourceType: pod, targetMetric: vllm:generation_tokens_total, targetValue: "450"}]}}
        """

    @Test func independentPoolsLetThePDRatioDrift() throws {
        let spec = try ScenarioSpec.parse(Self.mixShift)
        let outcomes = try ScenarioRunner.run(spec, baseDirectory: Paths.repo("samples/simulation"))
        let hs = try #require(outcomes.first { $0.policy == "heteroscale" })
        let independent = try #require(outcomes.first { $0.policy == "independent-tps" })
        for o in [hs, independent] { #expect(o.result.completed == o.result.arrived && o.result.arrived > 3000) }
        #expect(independent.pdRatioStdDev > 0.05, "independent \(independent.pdRatioStdDev)")
        #expect(independent.pdRatioStdDev > 2 * hs.pdRatioStdDev, "independent \(independent.pdRatioStdDev), heteroscale \(hs.pdRatioStdDev)")
        // Holding the ratio costs no SLO here, and fewer GPU-hours.
        #expect(hs.requestSLOAttainment >= 0.99)
        #expect(hs.result.gpuHours < independent.result.gpuHours)
    }

    /// HeteroScale's group totals keep the P/D ratio within `ratioTolerance` (10 %) of 1:2: at every interval
    /// after its first scaling action (before it, the split is the manifest's: 2:3) where both roles are settled
    /// (ready = desired) and the group is between its roles' bounds (prefill is capped at 4, so 4:10 at the top
    /// is the bound, not the rule), the ready split is within 10 % of 1:2. The pure latency baseline, which
    /// moves the total by +2/−1, is not.
    @Test func heteroScaleKeepsTheRatioWithinItsTolerance() throws {
        func settledSplits(_ policy: String) throws -> [(Int, Int)] {
            let o = try Self.outcome(policy)
            var byTime: [Double: (p: TimelineRow?, d: TimelineRow?)] = [:]
            for row in o.result.timeline {
                if row.role == .prefill { byTime[row.time, default: (nil, nil)].p = row }
                if row.role == .decode { byTime[row.time, default: (nil, nil)].d = row }
            }
            let rows = byTime.sorted { $0.key < $1.key }.map(\.value)
            guard let first = rows.first, let p0 = first.p?.desired, let d0 = first.d?.desired else { return [] }
            let firstAction = rows.firstIndex { $0.p?.desired != p0 || $0.d?.desired != d0 } ?? rows.count
            return rows[firstAction...].compactMap { pair in
                guard let p = pair.p, let d = pair.d, p.ready == p.desired, d.ready == d.desired else { return nil }
                return (p.ready, d.ready)
            }
        }
        let hs = try settledSplits("heteroscale")
        let inside = hs.filter { $0.0 + $0.1 > 3 && $0.0 < 4 }
        #expect(inside.count > 20)
        for (p, d) in inside {
            #expect(RatioApportionment.ratioError([p, d], weights: [1, 2]) <= 0.1 + 1e-9, "P \(p), D \(d)")
        }
        let latency = try settledSplits("latency").filter { $0.0 + $0.1 > 3 && $0.0 < 4 }
        #expect(latency.contains { RatioApportionment.ratioError([$0.0, $0.1], weights: [1, 2]) > 0.1 })
    }

    /// HeteroScale meets the SLO (≥ 99 % of requests) within 10 % of the GPU-hours of the cheapest policy that
    /// meets it. (It had the fewest while the simulator gave exact percentiles; read from vLLM's TTFT histogram,
    /// whose buckets around the 2 s SLO are 1 s and 2.5 s, its latency tier scales out earlier: 6.90 GPU-hours
    /// against 6.48 for the cheapest, +6 %.)
    @Test func heteroScaleMeetsTheSLOWithinTenPercentOfTheFewestGPUHours() throws {
        let hs = try Self.outcome("heteroscale")
        #expect(hs.requestSLOAttainment >= 0.99)
        let meeting = Self.outcomes.filter { $0.key != "heteroscale" && $0.value.requestSLOAttainment >= 0.99 }
        #expect(!meeting.isEmpty)
        for (name, o) in meeting {
            #expect(hs.result.gpuHours < 1.1 * o.result.gpuHours, "heteroscale \(hs.result.gpuHours) vs \(name) \(o.result.gpuHours)")
        }
    }
}

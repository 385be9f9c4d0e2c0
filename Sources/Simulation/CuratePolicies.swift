import Foundation
import Autoscaling
import KubeAPI
import YAML

/// A candidate policy of curation and what its `values` search.
///
/// | strategy | manifests | `values` |
/// |---|---|---|
/// | `heteroscale` | DeploymentGroup at the chosen ratio + HeteroScale PodAutoscaler | safety margins on the knee TPS |
/// | `hybrid` | DeploymentGroup + Hybrid PodAutoscaler: the `heteroscale` settings above the `sla` candidate's floor | safety margins (as `heteroscale`) |
/// | `sla` | DeploymentGroup + SLA PodAutoscaler (profile derived from the performance model) | planning intervals (s) |
/// | `latency` | DeploymentGroup + Latency PodAutoscaler (the derived tiers' SLOs) | — |
/// | `independent-tps` | a Deployment per role, an HPA each on prompt / generated tokens per second | safety margins |
/// | `hpa-gpu` | a Deployment per role, an HPA each on GPU utilisation | utilisation targets (percent) |
///
/// Hook for further strategies: add a case here, its default values in `defaultValues`, and its manifests in
/// `CuratePolicyFactory.manifests`; nothing else changes.
public enum CurateStrategy: String, Codable, Sendable, Hashable, CaseIterable {
    case heteroscale
    case hybrid
    case sla
    case latency
    case independentTPS = "independent-tps"
    case hpaGPU = "hpa-gpu"

    /// The values searched when a candidate gives none (`nil` entries: the strategy has no searched value).
    func defaultValues(margin: Double) -> [Double?] {
        switch self {
        case .heteroscale, .hybrid, .independentTPS: return [margin]
        case .sla: return [60]
        case .latency: return [nil]
        case .hpaGPU: return [70]
        }
    }
}

/// What step 1 found at the chosen ratio, and the parameters derived from it.
public struct CurateTargets: Sendable, Hashable {
    public var ratio: CurateSpec.Ratio
    public var prefillGPUType: String
    public var decodeGPUType: String
    public var prefillGPUsPerInstance: Int
    public var decodeGPUsPerInstance: Int
    /// Highest request rate one unit serves within the SLO (requests/s).
    public var kneeRate: Double
    /// The unit's decode tokens/s (first tokens excluded, as the `decode_tps` signal) and prompt tokens/s at the knee.
    public var kneeDecodeTPS: Double
    public var kneePrefillTPS: Double
    /// The default safety margin (fraction of the knee the autoscalers target).
    public var margin: Double
    /// Latency tiers (observed ÷ SLO → step percent) from the probes past the knee.
    public var tiers: [Tier]
    /// Units the policies may grow to (the step-2 cluster holds them).
    public var maxUnits: Int
    public var sloTTFTms: Double?
    public var sloTBTms: Double?
    /// P90 TTFT and TBT at the knee (which SLO bounds the unit there).
    public var kneeTTFTP90ms: Double = .nan
    public var kneeTBTP90ms: Double = .nan
    /// The engine's largest decode batch (the scenario's `maxBatchSize`, default 256).
    public var maxBatchSize: Int = 256

    /// True when the TTFT SLO (prefill queueing) bounds the unit at the knee rather than the TBT SLO.
    public var prefillBoundAtKnee: Bool {
        let ttft = sloTTFTms.map { kneeTTFTP90ms / $0 } ?? 0
        let tbt = sloTBTms.map { kneeTBTP90ms / $0 } ?? 0
        return ttft.isFinite && ttft >= tbt
    }

    public struct Tier: Sendable, Hashable {
        public var ratio: Double
        public var stepPercent: Double
    }

    /// HeteroScale's `targetDecodeTPSPerInstance` at `margin`: per instance of the whole group (all roles).
    public func decodeTarget(_ margin: Double) -> Double { Self.round(margin * kneeDecodeTPS / Double(ratio.instances)) }
    public func prefillTarget(_ margin: Double) -> Double { Self.round(margin * kneePrefillTPS / Double(ratio.instances)) }

    /// Three significant digits (manifests read better; the strategies do not need more).
    static func round(_ x: Double) -> Double {
        guard x > 0, x.isFinite else { return x }
        let scale = pow(10, 2 - floor(log10(x)))
        return (x * scale).rounded() / scale
    }
}

/// Builds the manifests of a candidate policy from the derived targets.
public enum CuratePolicyFactory {
    /// The policy's name in tables and file names: `heteroscale@0.8`, `latency`.
    public static func name(_ strategy: CurateStrategy, _ value: Double?) -> String {
        value.map { "\(strategy.rawValue)@\(String(format: "%g", $0))" } ?? strategy.rawValue
    }

    /// The manifests (as `kubectl apply` takes them) of `strategy` with `value`, for a service called `service`.
    /// `performance` gives the SLA planner its profile. With `template`, the DeploymentGroup's roles and the
    /// baselines' Deployments carry the user's pod templates verbatim (and the group its metadata and placement
    /// fields); without, they have none (the serving container is the user's to add).
    public static func manifests(_ strategy: CurateStrategy, value: Double?, targets t: CurateTargets, service: String,
                                 model: String, performance: PerformanceModel, template: CurateTemplate? = nil) -> [JSONValue] {
        let r = t.ratio
        let groupMax = t.maxUnits * r.instances
        func metadata(_ name: String) -> JSONValue {
            var m: JSONObject = ["name": .string(name)]
            if let ns = template?.metadata["namespace"] { m["namespace"] = ns }
            return .object(m)
        }
        func group() -> JSONValue {
            func role(_ name: String, _ weight: Int, _ type: String, _ gpus: Int) -> JSONValue {
                var o: JSONObject = ["name": .string(name), "weight": .int(Int64(weight)), "gpuType": [.string(type)], "gpusPerInstance": .int(Int64(gpus)),
                                     "minReplicas": .int(Int64(weight)), "maxReplicas": .int(Int64(weight * t.maxUnits))]
                if let template { o["template"] = template.template(name) }
                return .object(o)
            }
            var meta: JSONObject = ["name": .string(service)]
            var spec: JSONObject = ["replicas": .int(Int64(r.instances))]
            if let template {
                for e in template.metadata { meta[e.key] = e.value }
                for e in template.groupFields { spec[e.key] = e.value }
            }
            spec["roles"] = [role("prefill", r.prefill, t.prefillGPUType, t.prefillGPUsPerInstance),
                             role("decode", r.decode, t.decodeGPUType, t.decodeGPUsPerInstance)]
            return ["apiVersion": "heteroscale.io/v1alpha1", "kind": "DeploymentGroup", "metadata": .object(meta), "spec": .object(spec)]
        }
        func autoscaler(_ suffix: String, _ strategyName: String, _ extra: JSONObject) -> JSONValue {
            var spec: JSONObject = ["scaleTargetRef": ["apiVersion": "heteroscale.io/v1alpha1", "kind": "DeploymentGroup", "name": .string(service)],
                                    "minReplicas": .int(Int64(r.instances)), "maxReplicas": .int(Int64(groupMax)),
                                    "scalingStrategy": .string(strategyName)]
            for e in extra { spec[e.key] = e.value }
            return ["apiVersion": "heteroscale.io/v1alpha1", "kind": "PodAutoscaler", "metadata": metadata("\(service)-\(suffix)"),
                    "spec": .object(spec)]
        }
        switch strategy {
        case .heteroscale:
            return [group(), autoscaler("hs", "HeteroScale", ["heteroScale": .object(heteroScaleSpec(t, margin: value ?? t.margin))])]
        case .hybrid:
            // HeteroScale exactly as the `heteroscale` candidate at this margin, above the `sla` candidate's plan
            // (default interval, the derived profile) as a floor that covers a cold start ahead.
            return [group(), autoscaler("hybrid", "Hybrid", [
                "heteroScale": .object(heteroScaleSpec(t, margin: value ?? t.margin)),
                "sla": .object(slaSpec(t, interval: 60, model: model, performance: performance)),
                "hybrid": ["floorLookaheadSeconds": .double(HybridParameters.defaultFloorLookaheadSeconds)]])]
        case .latency:
            return [group(), autoscaler("latency", "Latency", ["heteroScale": [
                "targetDecodeTPSPerInstance": .double(t.decodeTarget(t.margin)), "latency": .object(latencySpec(t))]])]
        case .sla:
            return [group(), autoscaler("sla", "SLA", ["sla": .object(slaSpec(t, interval: value ?? 60, model: model, performance: performance))])]
        case .independentTPS, .hpaGPU:
            func deployment(_ role: String, _ type: String, _ gpus: Int, _ replicas: Int) -> JSONValue {
                let labels: JSONValue = ["app.kubernetes.io/name": .string(service), "heteroscale.io/role": .string(role),
                                         "heteroscale.io/gpu-type": .string(type), "heteroscale.io/gpus-per-instance": .string(String(gpus))]
                // Selector and pod labels as a Deployment needs them; without a template the serving container is
                // the user's to add. A template is kept as written but for the group's ratio-gate readiness gate,
                // and selected by its own labels (our labels are added to it only when it has none).
                var selector: JSONValue = ["app.kubernetes.io/name": .string(service), "heteroscale.io/role": .string(role)]
                var pod: JSONValue = ["metadata": ["labels": labels]]
                if let template {
                    pod = template.deploymentTemplate(role)
                    if let own = pod["metadata"]?["labels"], case .object(let o) = own, !o.isEmpty {
                        selector = own
                    } else {
                        var m: JSONObject = pod["metadata"]?.objectValue ?? [:]
                        m["labels"] = labels
                        if case .object(var p) = pod { p["metadata"] = .object(m); pod = .object(p) }
                    }
                }
                var meta: JSONObject = ["name": .string("\(service)-\(role)"), "labels": labels]
                if let ns = template?.metadata["namespace"] { meta["namespace"] = ns }
                return ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": .object(meta),
                        "spec": ["replicas": .int(Int64(replicas)), "selector": ["matchLabels": selector], "template": pod]]
            }
            func hpa(_ role: String, _ replicas: Int, _ metric: String, _ target: Double) -> JSONValue {
                ["apiVersion": "heteroscale.io/v1alpha1", "kind": "PodAutoscaler", "metadata": metadata("\(service)-\(role)-hpa"),
                 "spec": ["scaleTargetRef": ["apiVersion": "apps/v1", "kind": "Deployment", "name": .string("\(service)-\(role)")],
                          "minReplicas": .int(Int64(replicas)), "maxReplicas": .int(Int64(replicas * t.maxUnits)), "scalingStrategy": "HPA",
                          "metricsSources": [["metricSourceType": "pod", "targetMetric": .string(metric),
                                              "targetValue": .string(String(format: "%g", target))]]]]
            }
            var out = [deployment("prefill", t.prefillGPUType, t.prefillGPUsPerInstance, r.prefill),
                       deployment("decode", t.decodeGPUType, t.decodeGPUsPerInstance, r.decode)]
            if strategy == .hpaGPU {
                let u = value ?? 70
                out += [hpa("prefill", r.prefill, "gpu_utilization", u), hpa("decode", r.decode, "gpu_utilization", u)]
            } else {
                let m = value ?? t.margin
                out += [hpa("prefill", r.prefill, "vllm:prompt_tokens_total", CurateTargets.round(m * t.kneePrefillTPS / Double(r.prefill))),
                        hpa("decode", r.decode, "vllm:generation_tokens_total", CurateTargets.round(m * t.kneeDecodeTPS / Double(r.decode)))]
            }
            return out
        }
    }

    /// `spec.heteroScale.latency`: the SLOs, the derived tiers, a 60 s cooldown.
    static func latencySpec(_ t: CurateTargets) -> JSONObject {
        var latency: JSONObject = [:]
        if let tbt = t.sloTBTms { latency["tbtSLOMilliseconds"] = .double(tbt) }
        if let ttft = t.sloTTFTms { latency["ttftSLOMilliseconds"] = .double(ttft) }
        latency["tiers"] = .array(t.tiers.map { ["ratio": .double($0.ratio), "stepPercent": .double($0.stepPercent)] })
        latency["cooldownSeconds"] = 60
        return latency
    }

    /// `spec.heteroScale` of the `heteroscale` and `hybrid` candidates: the targets at `margin`, cooldowns 60/300 s,
    /// the latency tiers.
    static func heteroScaleSpec(_ t: CurateTargets, margin m: Double) -> JSONObject {
        ["targetDecodeTPSPerInstance": .double(t.decodeTarget(m)), "targetPrefillTPSPerInstance": .double(t.prefillTarget(m)),
         "scaleOutCooldownSeconds": 60, "scaleInCooldownSeconds": 300, "latency": .object(latencySpec(t))]
    }

    /// `spec.sla` of the `sla` and `hybrid` candidates: the kalman predictor planning every `interval` seconds, the
    /// SLOs as targets, the GPU budget of `maxUnits` units, and the profile derived from the performance model
    /// (none when the model has no profile for the pairing: the planner then learns one online).
    static func slaSpec(_ t: CurateTargets, interval: Double, model: String, performance: PerformanceModel) -> JSONObject {
        let r = t.ratio
        var sla: JSONObject = ["adjustmentIntervalSeconds": .double(interval), "loadPredictor": "kalman",
                               "prefillGPUsPerInstance": .int(Int64(t.prefillGPUsPerInstance)),
                               "decodeGPUsPerInstance": .int(Int64(t.decodeGPUsPerInstance)),
                               "maxGPUBudget": .int(Int64(t.maxUnits * (r.prefill * t.prefillGPUsPerInstance + r.decode * t.decodeGPUsPerInstance))),
                               "minReplicasPerRole": 1]
        if let ttft = t.sloTTFTms { sla["ttftMilliseconds"] = .double(ttft) }
        if let tbt = t.sloTBTms { sla["itlMilliseconds"] = .double(tbt) }
        if let profile = slaProfile(t, model: model, performance: performance, margin: t.margin) { sla["profile"] = profile }
        return sla
    }

    /// The SLA planner's profile, read off the performance model at the chosen pairing — what a profiling run
    /// of the real engine would record — with two corrections that make it describe the engine as it serves:
    ///
    /// - decode points (KV usage × context → step time, tokens/s per GPU) at batches of 1…`maxBatchSize` (the
    ///   engine never runs a larger batch), KV usage = batch × context ÷ KV capacity, as the engine reports it;
    /// - prefill points (prompt length → TTFT of a lone prompt, prompt tokens/s per GPU): a lone prompt keeps the
    ///   instance 100 % busy, and the planner sizes the pool to that throughput, leaving no room for the queue
    ///   that Poisson arrivals build (TTFT then grows without bound below the predicted load). The throughput is
    ///   scaled to the utilisation the stress test found within the TTFT SLO (the knee's prompt tokens/s per
    ///   prefill instance ÷ the lone-prompt throughput at the knee's mean prompt) times `margin`, when the TTFT
    ///   SLO bounds the knee; otherwise (TBT-bound knee: the prefill's limit was not reached) times `margin` alone.
    static func slaProfile(_ t: CurateTargets, model: String, performance: PerformanceModel, margin: Double) -> JSONValue? {
        guard let p = performance.profile(model: model, hardware: t.prefillGPUType, tensorParallel: t.prefillGPUsPerInstance),
              let d = performance.profile(model: model, hardware: t.decodeGPUType, tensorParallel: t.decodeGPUsPerInstance),
              let kv = d.kvCapacityTokens, kv > 0 else { return nil }
        var utilisation = margin
        if t.prefillBoundAtKnee, t.kneeRate > 0, t.kneePrefillTPS > 0 {
            let meanPrompt = t.kneePrefillTPS / t.kneeRate
            let lone = meanPrompt / p.prefillTime(batchTokens: max(1, Int(meanPrompt.rounded())))
            let perInstance = t.kneePrefillTPS / Double(t.ratio.prefill)
            if lone > 0 { utilisation = margin * min(1, perInstance / lone) }
        }
        var prefill: [JSONValue] = []
        for isl in [256, 512, 1024, 2048, 4096, 8192] {
            let s = p.prefillTime(batchTokens: isl)
            prefill.append(["isl": .int(Int64(isl)), "ttftMilliseconds": .double(CurateTargets.round(s * 1000)),
                            "throughputPerGPU": .double(CurateTargets.round(utilisation * Double(isl) / s / Double(t.prefillGPUsPerInstance)))])
        }
        var decode: [JSONValue] = []
        let largest = max(1, t.maxBatchSize)
        let batches = Array(Set([1, 8, 16, 32, 64, 96, 128, 192, 256].filter { $0 < largest } + [largest])).sorted()
        for context in [512, 1024, 2048, 4096] {
            for batch in batches where batch * context <= kv {
                let s = d.decodeTime(batchSize: batch, contextTokens: batch * context)
                decode.append(["kvUsage": .double(Double(batch * context) / Double(kv)), "context": .int(Int64(context)),
                               "itlMilliseconds": .double(CurateTargets.round(s * 1000)),
                               "throughputPerGPU": .double(CurateTargets.round(Double(batch) / s / Double(t.decodeGPUsPerInstance)))])
            }
        }
        return ["interpolation": "monotoneCubic", "maxKVTokens": .int(Int64(kv)), "prefill": .array(prefill), "decode": .array(decode)]
    }
}

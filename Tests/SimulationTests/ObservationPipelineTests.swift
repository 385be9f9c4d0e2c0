import Autoscaling
import Foundation
import KubeAPI
import Metrics
import Testing

@testable import Simulation

/// The simulator observes its instances through the controller's pipeline (`ObservationPipeline`): each
/// instance's exposition is vLLM's, and each signal means what the vLLM metric it comes from means.
@Suite struct ObservationPipelineTests {
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    /// A P/D group under a HeteroScale PodAutoscaler with a pod source; `extra` is appended to the scenario.
    static func scenario(rate: Double = 6, duration: Double = 180, tick: Int = 5, extra: String = "") -> String {
        """
        profiles: [\(Paths.repo("samples/profiles/h100.yaml"))]
        model: llama2-70b
        cluster: {nodePools: [{gpuType: h100-80gb, gpusPerNode: 8, count: 6}]}
        workload:
          arrivals: {kind: piecewise, points: [{time: 0, rate: \(rate / 3)}, {time: \(duration / 2), rate: \(rate)}, {time: \(duration), rate: \(rate)}]}
          sizes: {constant: {prompt: 400, output: 40}}
          duration: \(duration)
        seed: 4
        coldStartSeconds: 20
        scrapeInterval: 5
        slo: {ttftMs: 1000, tbtMs: 60}
        \(extra)
        policies:
          - name: heteroscale
            manifests:
              - {kind: DeploymentGroup, metadata: {name: svc}, spec: {replicas: 3, roles: [{name: prefill, weight: 1, gpuType: h100-80gb, gpusPerInstance: 4, minReplicas: 1, maxReplicas: 4}, {name: decode, weight: 2, gpuType: h100-80gb, gpusPerInstance: 4, minReplicas: 2, maxReplicas: 6}]}}
              - {kind: PodAutoscaler, metadata: {name: svc-hs}, spec: {scaleTargetRef: {apiVersion: heteroscale.io/v1alpha1, kind: DeploymentGroup, name: svc}, minReplicas: 3, maxReplicas: 10, scalingStrategy: HeteroScale, tickSeconds: \(tick), metricsSources: [{metricSourceType: pod, port: "8000", path: /metrics, targetMetric: kv_cache_usage_perc, targetValue: "0.5", role: decode}], heteroScale: {targetDecodeTPSPerInstance: 60, scaleOutCooldownSeconds: 20, scaleInCooldownSeconds: 60, latency: {tbtSLOMilliseconds: 60, ttftSLOMilliseconds: 1000, cooldownSeconds: 20}}}}
        """
    }

    static func run(_ text: String, observation: ObservationPath = .text) throws -> (SimulationResult, [TickRecord]) {
        let spec = try ScenarioSpec.parse(text)
        var config = try spec.config(policy: spec.policies[0], baseDirectory: Paths.repo("samples/simulation"),
                                     performance: try spec.performanceModel(baseDirectory: Paths.repo("samples/simulation")))
        config.observation = observation
        let sim = try Simulator(config: config, stream: try spec.workload.makeStream(baseDirectory: Paths.repo("samples/simulation")))
        var ticks: [TickRecord] = []
        sim.tickObserver = { ticks.append($0) }
        return (try sim.run(), ticks)
    }

    // MARK: The exposition

    /// The text an instance serves parses back into exactly the families it was rendered from, so the fast
    /// path (families without the text) reads what a scrape reads.
    @Test func renderedTextParsesBackToTheSameFamilies() throws {
        let (_, ticks) = try Self.run(Self.scenario(duration: 60))
        let texts = ticks.flatMap { $0.texts.values }
        #expect(texts.count > 10)
        for text in texts.prefix(40) {
            let families = try PrometheusText.parse(text)
            #expect(PrometheusText.render(families) == text)
            #expect(families.map(\.name) == [
                "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:prompt_tokens_total",
                "vllm:generation_tokens_total", "vllm:request_success_total", "vllm:request_prompt_tokens", "vllm:request_generation_tokens",
                "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds", "vllm:e2e_request_latency_seconds",
                "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_SM_ACTIVE",
            ])
            let itl = try #require(families.family(named: "vllm:inter_token_latency_seconds")?.histogramSeries.first)
            #expect(itl.buckets.map(\.upperBound) == VLLMBuckets.itl + [.infinity])
        }
        #expect(texts.contains { $0.contains(#"vllm:inter_token_latency_seconds_bucket{engine="0",model_name="llama2-70b",le="0.025"}"#) })
    }

    /// Fast path = full path: the same run with the text rendered and parsed, and with the families handed
    /// over, gives the same snapshots, decisions and reasons.
    @Test func familiesFastPathEqualsTheTextPath() throws {
        let (textRun, textTicks) = try Self.run(Self.scenario(), observation: .text)
        let (fastRun, fastTicks) = try Self.run(Self.scenario(), observation: .families)
        #expect(textTicks.count == fastTicks.count && textTicks.count > 30)
        for (a, b) in zip(textTicks, fastTicks) {
            #expect(a.snapshot == b.snapshot, "t=\(a.time)")
            #expect(a.decision == b.decision, "t=\(a.time)")
        }
        #expect(textRun.scaling == fastRun.scaling)
        #expect(textRun.scalingActions > 0, "the scenario scales")
    }

    // MARK: Meaning of each signal

    /// One scripted instance, two scrapes 10 s apart; each signal must equal its definition on vLLM's metrics.
    static let scripted = scripted(counterScale: 1, interval: 10)

    /// The scripted instance's signals with its counters served at `counterScale` and the scrapes `interval`
    /// seconds apart (a sandbox at speed N: counters at 1/N, 10 simulated seconds in 10/N wall seconds).
    static func scripted(counterScale: Double, interval: Double) -> [String: Double] {
        let inst = SimInstance(id: 0, pool: 0, role: .decode, profile: SimFixtures.profile(), node: 0, gpuType: "gpu", placement: 0,
                               gpus: 1, now: 0, coldStart: 0, maxBatchTokens: 8192, maxBatchSize: 256)
        // Scrape 1: some history.
        inst.generationTokensTotal = 1000
        inst.promptTokensTotal = 5000
        inst.counters.requestSuccess = 10
        inst.counters.itl.observe(0.03, times: 100)
        inst.counters.ttft.observe(0.2, times: 10)
        inst.counters.e2e.observe(2, times: 10)
        inst.counters.promptTokens.observe(300, times: 10)
        inst.counters.generationTokens.observe(20, times: 10)
        inst.kvUsed = 250_000
        let text1 = PrometheusText.render(inst.exposition(model: "m", counterScale: counterScale))
        // Scrape 2, 10 s later: +600 generated, +20000 prompt tokens, +12 requests finished.
        inst.generationTokensTotal += 600
        inst.promptTokensTotal += 20_000
        inst.counters.requestSuccess += 12
        inst.counters.itl.observe(0.03, times: 450)
        inst.counters.itl.observe(0.06, times: 50)
        inst.counters.ttft.observe(0.3, times: 12)
        inst.counters.e2e.observe(4, times: 12)
        inst.counters.promptTokens.observe(1000, times: 12)
        inst.counters.generationTokens.observe(50, times: 12)
        inst.kvUsed = 400_000
        let text2 = PrometheusText.render(inst.exposition(model: "m", counterScale: counterScale))

        let spec = PodAutoscalerSpec(scaleTargetRef: .init(kind: "Deployment", name: "llm"), maxReplicas: 10, scalingStrategy: "HeteroScale")
        let pod = MetricsCollector.PodInfo(name: "pod-0", ip: "sim", ready: true)
        var tracker = RateTracker()
        var last: Date?
        var signals: [String: Double] = [:]
        for (text, t) in [(text1, ObservationPipelineTests.t0), (text2, ObservationPipelineTests.t0.addingTimeInterval(interval))] {
            let set = MetricSet((try? PrometheusText.parse(Array(text.utf8), only: ObservationPipeline.wantedMetrics(spec))) ?? [])
            signals = ObservationPipeline.collect(
                key: "default/llm", spec: spec, pods: [pod], read: { _, _ in .metrics(set, endpoint: "mem") },
                prometheus: { _, _, _, _ in }, tracker: &tracker, lastCollect: &last, now: t).signals
        }
        return signals
    }

    /// A sandbox at speed 4 serves counters and histograms at 1/4 and is scraped 2.5 wall seconds apart for 10
    /// simulated seconds: every signal equals speed 1's (rates per simulated second, latencies in simulated
    /// seconds), except the interval itself.
    @Test func countersAtOneNthOverOneNthOfTheTimeGiveTheSameSignals() {
        var fast = Self.scripted(counterScale: 0.25, interval: 2.5)
        var slow = Self.scripted
        #expect(fast.removeValue(forKey: "interval_s") == 2.5)
        #expect(slow.removeValue(forKey: "interval_s") == 10)
        #expect(fast.keys.sorted() == slow.keys.sorted())
        for (key, value) in slow {
            #expect(abs((fast[key] ?? .nan) - value) <= 1e-9 * max(1, abs(value)), "\(key): \(fast[key] ?? .nan) vs \(value)")
        }
    }

    @Test(arguments: [
        // (signal, expected, vLLM definition)
        ("decode_tps", 60.0, "rate(vllm:generation_tokens_total): 600 tokens / 10 s"),
        ("prefill_tps", 2000.0, "rate(vllm:prompt_tokens_total): 20000 tokens / 10 s"),
        ("num_requests", 1.2, "rate(vllm:request_success_total): 12 completions / 10 s (not arrivals)"),
        ("tbt_p90_ms", 50.0, "histogram_quantile(0.9, increase(vllm:inter_token_latency_seconds_bucket)): rank 450 of 500 at the top of (0.025, 0.05]"),
        ("itl_ms", 33.0, "increase(_sum) / increase(_count) of the ITL histogram: (450·30 + 50·60) / 500 ms"),
        ("ttft_p90_ms", 475.0, "histogram_quantile(0.9, increase(vllm:time_to_first_token_seconds_bucket)): 10.8 of 12 in (0.25, 0.5]"),
        ("ttft_ms", 300.0, "mean TTFT of the interval"),
        ("request_duration_s", 4.0, "mean of vllm:e2e_request_latency_seconds over the interval"),
        ("avg_isl", 1000.0, "mean of vllm:request_prompt_tokens over the interval"),
        ("avg_osl", 50.0, "mean of vllm:request_generation_tokens over the interval"),
        ("decode_kv_usage", 0.4, "the vllm:kv_cache_usage_perc gauge now (a fraction, 1 = full)"),
        ("interval_s", 10.0, "seconds since the previous collection"),
    ])
    func signalMeansItsVLLMDefinition(signal: String, expected: Double, definition: String) throws {
        let value = try #require(Self.scripted[signal], "\(signal) missing")
        #expect(abs(value - expected) <= 1e-9 * max(1, abs(expected)), "\(signal) = \(value), expected \(expected): \(definition)")
    }

    /// In a steady run the completion rate and the decode token rate follow the offered load.
    @Test func simulatedSignalsFollowTheOfferedLoad() throws {
        let (_, ticks) = try Self.run(Self.scenario(rate: 6, duration: 240))
        let late = ticks.filter { $0.time > 160 && $0.time <= 240 }.map(\.snapshot.signals)
        #expect(late.count >= 10)
        func mean(_ key: String) -> Double { late.compactMap { $0[key] }.reduce(0, +) / Double(late.count) }
        // 6 req/s: 6 completions/s; 39 of each request's 40 tokens come out of decode.
        #expect(abs(mean("num_requests") - 6) / 6 < 0.15, "num_requests \(mean("num_requests"))")
        #expect(abs(mean("decode_tps") - 6 * 39) / (6 * 39) < 0.15, "decode_tps \(mean("decode_tps"))")
        #expect(abs(mean("prefill_tps") - 6 * 400) / 2400 < 0.15, "prefill_tps \(mean("prefill_tps"))")
        #expect(abs(mean("avg_osl") - 40) < 1e-9)
        #expect(late.allSatisfy { $0["interval_s"] == 5 })
    }

    // MARK: Restart

    /// A simulated controller restart loses the counter baselines (the next tick has no rates, as a new
    /// controller's first collection) and re-seeds the strategy state with the controller's rule.
    @Test func controllerRestartLosesBaselinesAndReseeds() throws {
        let (_, plain) = try Self.run(Self.scenario(duration: 120))
        let (_, restarted) = try Self.run(Self.scenario(duration: 120, extra: "controllerRestarts: [62]"))
        let before = try #require(restarted.last { $0.time <= 62 }), after = try #require(restarted.first { $0.time > 62 })
        #expect(before.snapshot.signals["decode_tps"] != nil)
        #expect(after.snapshot.signals["decode_tps"] == nil && after.snapshot.signals["interval_s"] == nil)
        #expect(plain.first { $0.time == after.time }?.snapshot.signals["decode_tps"] != nil)
        // Until the restart the runs are the same; the tick after it decides on no rates.
        #expect(zip(plain, restarted).prefix { $0.0.time <= 62 }.allSatisfy { $0.0.decision == $0.1.decision })
        let second = try #require(restarted.first { $0.time > after.time })
        #expect(second.snapshot.signals["decode_tps"] != nil, "rates are back at the second tick")
    }

    @Test func signalWindowIsRejectedWithTheReason() throws {
        #expect { try ScenarioSpec.parse(Self.scenario(extra: "signalWindow: 30")) } throws: { error in
            "\(error)".contains("signalWindow: removed") && "\(error)".contains("tickSeconds")
        }
    }
}

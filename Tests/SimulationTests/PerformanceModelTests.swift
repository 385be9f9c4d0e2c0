import Foundation
import Testing
import YAML

@testable import Simulation

@Suite struct PerformanceModelTests {
    static let model: PerformanceModel = {
        try! PerformanceModel.load(path: Paths.sharedData("splitwise_perf_model.csv"))
    }()

    static func llamaA100TP2() throws -> HardwareProfile {
        try #require(model.profile(model: "llama2-70b", hardware: "a100-80gb", tensorParallel: 2))
    }

    static func close(_ a: Double, _ b: Double, _ rel: Double = 1e-12) -> Bool {
        abs(a - b) <= rel * max(abs(a), abs(b))
    }

    @Test func loadsEveryConfiguration() {
        let keys = Self.model.keys.map(\.description)
        #expect(keys.count == 12)
        #expect(keys.contains("bloom-176b/h100-80gb-pcap/TP8"))
        #expect(keys.contains("llama2-70b/a100-80gb/TP4"))
        #expect(Self.model.profile(model: "llama2-70b", hardware: "a100-80gb", tensorParallel: 16) == nil)
    }

    @Test func mediansOverRepeatedRows() throws {
        let p = try Self.llamaA100TP2()
        // splitwise-sim's prompt predictor: medians (ms) of prompt_time grouped by prompt_size × batch_size (5,
        // 45 and 10 (512×2 and 1024×1) rows), the failed 64 × 512 run (794 ms for 32,768 tokens) included.
        let refPrefill = try #require(p.referencePrefill)
        #expect(Self.close(refPrefill(128), 0.08107582805678248))
        #expect(Self.close(refPrefill(512), 0.1954800640232861))
        #expect(Self.close(refPrefill(1024), 0.39729519601678476))
        #expect(Self.close(p.referencePrefillTime(batchTokens: 32768), 0.794215691043064))
        // Decode: token_time by batch size at prompt_size 512.
        #expect(Self.close(p.decodeTime(batchSize: 1), 0.05989193476243))
        #expect(Self.close(p.decodeTime(batchSize: 8), 0.06169249445537296))
        #expect(Self.close(p.decodeTime(batchSize: 64), 0.0672432982323558))
        #expect(p.decodeReferenceContext == 512)
        // splitwise-sim's token predictor: token_time grouped by batch tokens.
        let ref = try #require(p.referenceTokenTime)
        #expect(Self.close(ref(128), 0.053678993216356425))
        #expect(Self.close(ref(256), 0.05409943375655809))
        #expect(PerformanceModel.median([3, 1, 2]) == 2 && PerformanceModel.median([4, 1, 3, 2]) == 2.5)
    }

    /// The native prefill fit (PrefillFit): H100 has an attention coefficient and no per-prompt cost (b prompts
    /// of 512 tokens are faster than one of 512·b), llama2-70b A100 TP2 a per-prompt cost (they are slower);
    /// the failed run is dropped, so the base curve ends at 16,384 tokens.
    @Test func prefillFitCoefficients() throws {
        let a100 = try Self.llamaA100TP2()
        #expect(a100.prefill.xs == [128, 256, 512, 1024, 2048, 4096, 8192, 16384])
        #expect(a100.prefillSecondsPerPrompt > 0.04 && a100.prefillSecondsPerPrompt < 0.05)
        let h100 = try #require(Self.model.profile(model: "bloom-176b", hardware: "h100-80gb", tensorParallel: 8))
        #expect(h100.prefillSecondsPerPrompt == 0)
        #expect(h100.prefillSecondsPerSquaredToken > 3e-9 && h100.prefillSecondsPerSquaredToken < 4.5e-9)
        // One 8192-token prompt vs 16 of 512 (table: 1,535 and 1,313 ms).
        #expect(abs(h100.prefillTime(PrefillBatch(prompt: 8192)) / 1.5354 - 1) < 0.02)
        #expect(abs(h100.prefillTime(PrefillBatch(prompt: 512, count: 16)) / 1.3133 - 1) < 0.02)
        var mixed = PrefillBatch()
        for n in [4096, 2048, 2048] { mixed.add(prompt: n) }
        #expect(mixed.tokens == 8192 && mixed.prompts == 3 && mixed.squaredTokens == 4096.0 * 4096 + 2 * 2048.0 * 2048)
        #expect(h100.prefillTime(mixed) < h100.prefillTime(PrefillBatch(prompt: 8192)))
        #expect(h100.prefillTime(mixed) > h100.prefillTime(PrefillBatch(prompt: 512, count: 16)))
    }

    @Test func failedRunsAndFitOnASmallTable() {
        typealias P = PrefillFit.Point
        let points = [P(tokens: 100, squaredTokens: 1e4, prompts: 1, seconds: 1), P(tokens: 200, squaredTokens: 4e4, prompts: 1, seconds: 3),
                      P(tokens: 400, squaredTokens: 8e4, prompts: 2, seconds: 1.4), P(tokens: 400, squaredTokens: 1.6e5, prompts: 1, seconds: 5)]
        let split = PrefillFit.dropFailedRuns(points)
        #expect(split.failed == [points[2]])  // 1.4 s < half of 3 s at fewer tokens
        // Exact data from time = 0.01·N + 1e-5·Q + 0.5·b: recovered (two compositions at two token counts).
        func t(_ n: Int, _ q: Double, _ b: Int) -> P { P(tokens: n, squaredTokens: q, prompts: b, seconds: 0.01 * Double(n) + 1e-5 * q + 0.5 * Double(b)) }
        let fit = PrefillFit.fit([t(100, 1e4, 1), t(400, 1.6e5, 1), t(400, 4e4, 4), t(800, 6.4e5, 1), t(800, 1.6e5, 4), t(800, 8e4, 8)])
        #expect(Self.close(fit.secondsPerSquaredToken, 1e-5, 1e-9) && Self.close(fit.secondsPerPrompt, 0.5, 1e-9))
        #expect(Self.close(fit.base(400), 4, 1e-9))
        // Negative effects are not fitted: faster single prompts give a = 0 and a per-prompt cost instead.
        let neg = PrefillFit.fit([P(tokens: 400, squaredTokens: 1.6e5, prompts: 1, seconds: 1), P(tokens: 400, squaredTokens: 4e4, prompts: 4, seconds: 2)])
        #expect(neg.secondsPerSquaredToken == 0 && neg.secondsPerPrompt > 0)
    }

    @Test(arguments: PerformanceModelTests.model.keys)
    func interpolationIsExactAtProfiledPointsAndLinearBetweenAndBeyond(_ key: ProfileKey) throws {
        let p = try #require(Self.model.profiles[key])
        for curve in [p.prefill, p.decode, try #require(p.decodeContextFactor), try #require(p.referencePrefill)] {
            for (x, y) in zip(curve.xs, curve.ys) { #expect(curve(x) == y) }
            for i in 0..<(curve.xs.count - 1) {
                let mid = (curve.xs[i] + curve.xs[i + 1]) / 2
                #expect(Self.close(curve(mid), (curve.ys[i] + curve.ys[i + 1]) / 2, 1e-9))
            }
            // Linear extrapolation with the end segments' slopes.
            let n = curve.xs.count
            let hiSlope = (curve.ys[n - 1] - curve.ys[n - 2]) / (curve.xs[n - 1] - curve.xs[n - 2])
            let loSlope = (curve.ys[1] - curve.ys[0]) / (curve.xs[1] - curve.xs[0])
            #expect(Self.close(curve(curve.xs[n - 1] + 1000), curve.ys[n - 1] + 1000 * hiSlope, 1e-9))
            #expect(Self.close(curve(curve.xs[0] - 0.5), curve.ys[0] - 0.5 * loSlope, 1e-9))
        }
        let failedRun = key.model == "llama2-70b" && key.tensorParallel == 2
        #expect(p.prefill.xs == [128, 256, 512, 1024, 2048, 4096, 8192, 16384] + (failedRun ? [] : [32768]))
        #expect(p.referencePrefill?.xs == [128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768])
        #expect(p.decode.xs == [1, 2, 4, 8, 16, 32, 64])
        #expect(p.decodeContextFactor?.xs == [128, 256, 512, 1024, 2048, 4096, 8192])
    }

    @Test func iterationTimes() throws {
        let p = try Self.llamaA100TP2()
        #expect(p.iterationTime(promptTokens: 0, decodeRequests: 0) == 0)
        #expect(p.iterationTime(promptTokens: 3000, decodeRequests: 0) == p.prefillTime(batchTokens: 3000))
        #expect(p.prefillTime(batchTokens: 3000) == p.prefillTime(PrefillBatch(prompt: 3000)))
        #expect(p.iterationTime(promptTokens: 0, decodeRequests: 24) == p.decodeTime(batchSize: 24))
        // A mixed batch: prompt tokens plus one per token task, at the prompt time × 1.1.
        #expect(p.iterationTime(promptTokens: 1000, decodeRequests: 24) == p.prefillTime(batchTokens: 1024) * 1.1)
        #expect(p.referenceIterationTime(promptTokens: 1000, decodeRequests: 24) == p.referencePrefill!(1024) * 1.1)
        #expect(p.referenceIterationTime(promptTokens: 3000, decodeRequests: 0) == p.referencePrefill!(3000))
        #expect(p.referenceIterationTime(promptTokens: 0, decodeRequests: 40) == p.referenceTokenTime!(40))
        // Between 2048 and 4096 batch tokens splitwise-sim's time is the straight line through the two medians.
        let t3072 = (p.referencePrefill!(2048) + p.referencePrefill!(4096)) / 2
        #expect(Self.close(p.referencePrefillTime(batchTokens: 3072), t3072, 1e-12))
    }

    @Test func decodeContextFactor() throws {
        let p = try Self.llamaA100TP2()
        let factor = try #require(p.decodeContextFactor)
        #expect(factor(512) == 1)
        // Batch-1 medians (ms) by prompt size over the 512 one: 53.68 / 59.89 at 128 tokens.
        #expect(Self.close(factor(128), 0.053678993216356425 / 0.05989193476243, 1e-9))
        let base = p.decodeTime(batchSize: 16)
        #expect(p.decodeTime(batchSize: 16, contextTokens: 16 * 512) == base)
        #expect(Self.close(p.decodeTime(batchSize: 16, contextTokens: 16 * 4096), base * factor(4096), 1e-12))
        #expect(Self.close(p.decodeTime(batchSize: 16, contextTokens: 16 * 3000), base * factor(3000), 1e-12))
        #expect(p.decodeTime(batchSize: 16, contextTokens: 0) >= base / 2)
        #expect(p.decodeTime(batchSize: 0, contextTokens: 100) == p.decode(0))
    }

    struct BadCSV: Sendable, CustomStringConvertible {
        var text: String
        var expected: String
        var description: String { expected }
    }

    static let header = "model,hardware,prompt_size,batch_size,token_size,prompt_time,token_time,tensor_parallel\n"
    static let bad: [BadCSV] = [
        BadCSV(text: header + "m,h,512,1,128,10,2,2\nm,h,512,x,128,10,2,2\n",
               expected: "p.csv:3: column batch_size: expected a positive integer, found \"x\""),
        BadCSV(text: header + "m,h,512,1,128,-1,2,2\n",
               expected: "p.csv:2: column prompt_time: expected a non-negative time in ms, found \"-1\""),
        BadCSV(text: header + "m,h,512,1\n", expected: "p.csv:2: expected 8 fields, found 4"),
        BadCSV(text: "model,hardware,prompt_size,batch_size\n", expected: "p.csv:1: column tensor_parallel: missing column"),
        BadCSV(text: "", expected: "p.csv:1: empty file: expected a header row"),
    ]

    @Test(arguments: bad)
    func badTables(_ bad: BadCSV) {
        let error = #expect(throws: PerformanceModelError.self) { try PerformanceModel.load(csv: bad.text, source: "p.csv") }
        #expect(error?.description == bad.expected)
    }

    @Test func smallTableSemantics() throws {
        let csv = Self.header + """
            m,h,100,1,8,10,5,1
            m,h,100,1,8,30,7,1
            m,h,100,1,8,20,6,1
            m,h,100,2,8,40,8,1
            m,h,200,1,8,60,9,1
            """
        let p = try #require(try PerformanceModel.load(csv: csv).profile(model: "m", hardware: "h", tensorParallel: 1))
        // splitwise-sim's predictor: 200 batch tokens is the median of 40 and 60 ms.
        #expect(p.referencePrefill?.xs == [100, 200] && p.referencePrefill?.ys == [0.02, 0.05])
        #expect(Self.close(p.referencePrefillTime(batchTokens: 300), 0.08))
        #expect(Self.close(p.referencePrefillTime(batchTokens: 0), -0.01))  // linear extrapolation, as scipy does
        // Native: one 200-token prompt (60 ms) costs more than two of 100 (40 ms): attention 20 ms / 20,000 tok².
        #expect(Self.close(p.prefillSecondsPerSquaredToken, 1e-6, 1e-9) && p.prefillSecondsPerPrompt == 0)
        #expect(Self.close(p.prefillTime(batchTokens: 100), 0.02, 1e-9) && Self.close(p.prefillTime(batchTokens: 200), 0.06, 1e-9))
        #expect(Self.close(p.prefillTime(PrefillBatch(prompt: 100, count: 2)), 0.04, 1e-9))
        #expect(p.decode.xs == [1, 2] && p.decode.ys == [0.006, 0.008])
        // Batch-1 token time 9 ms at 200 tokens vs 6 ms at the reference (100): factor 1.5.
        #expect(Self.close(p.decodeTime(batchSize: 1, contextTokens: 200), 0.009, 1e-9))
    }
}

@Suite struct ProfileYAMLTests {
    static func profileFiles() -> [String] {
        let dir = Paths.repo("samples/profiles")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { "\(dir)/\($0)" }
    }

    @Test func shippedProfilesExist() {
        #expect(Self.profileFiles().map { ($0 as NSString).lastPathComponent } == ["a100.yaml", "h100.yaml", "h20.yaml", "l40s.yaml"])
    }

    @Test(arguments: profileFiles())
    func everyShippedProfileLoads(_ path: String) throws {
        let profiles = try HardwareProfile.fromYAML(path: path)
        #expect(!profiles.isEmpty)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("#") && text.contains("Source:"))
        let tree = try YAML.load(text)
        #expect(try YAML.load(YAML.dump(tree)) == tree)
        for p in profiles {
            let kv = try #require(p.kvCapacityTokens)
            #expect(kv > 10_000)
            #expect(p.kvBytesPerToken == (p.model == "llama2-70b" ? 327_680 : 4_014_080))
            #expect(p.gpuMemoryGiB != nil)
            #expect(p.mixedBatchFactor == 1.1)
            #expect(p.prefillTime(batchTokens: 4096) > p.prefillTime(batchTokens: 512))
            #expect(p.decodeTime(batchSize: 1) > 0.01 && p.decodeTime(batchSize: 1) < 0.5)
        }
    }

    @Test(arguments: ["a100", "h100"])
    func measuredProfilesMatchTheTable(_ name: String) throws {
        let profiles = try HardwareProfile.fromYAML(path: Paths.repo("samples/profiles/\(name).yaml"))
        for p in profiles {
            let table = try #require(
                PerformanceModelTests.model.profile(model: p.model, hardware: p.hardware, tensorParallel: p.tensorParallel))
            #expect(p.prefill.xs == table.prefill.xs)
            for x in p.prefill.xs { #expect(abs(p.prefill(x) / table.prefill(x) - 1) < 1e-3) }
            #expect(abs(p.prefillSecondsPerSquaredToken - table.prefillSecondsPerSquaredToken) <= 1e-3 * table.prefillSecondsPerSquaredToken)
            #expect(abs(p.prefillSecondsPerPrompt - table.prefillSecondsPerPrompt) <= 1e-3 * table.prefillSecondsPerPrompt)
            #expect(p.decode.xs == table.decode.xs)
            for x in p.decode.xs { #expect(abs(p.decode(x) / table.decode(x) - 1) < 1e-3) }
            let factor = try #require(p.decodeContextFactor), tableFactor = try #require(table.decodeContextFactor)
            #expect(factor.xs == tableFactor.xs)
            for x in factor.xs { #expect(abs(factor(x) / tableFactor(x) - 1) < 1e-3) }
        }
    }

    @Test(arguments: [("h20", 989.0 / 148, 3.35 / 4.0), ("l40s", 989.0 / 362, 3.35 / 0.864)])
    func scaledProfilesFollowTheirRatios(_ name: String, _ prefillRatio: Double, _ decodeRatio: Double) throws {
        let scaled = try HardwareProfile.fromYAML(path: Paths.repo("samples/profiles/\(name).yaml"))
        let h100 = PerformanceModel(profiles: try HardwareProfile.fromYAML(path: Paths.repo("samples/profiles/h100.yaml")))
        for p in scaled {
            let base = try #require(h100.profile(model: p.model, hardware: "h100-80gb", tensorParallel: p.tensorParallel))
            for x in p.prefill.xs { #expect(abs(p.prefill(x) / (base.prefill(x) * prefillRatio) - 1) < 2e-3) }
            for x in p.decode.xs { #expect(abs(p.decode(x) / (base.decode(x) * decodeRatio) - 1) < 2e-3) }
            #expect(abs(p.prefillSecondsPerSquaredToken / (base.prefillSecondsPerSquaredToken * prefillRatio) - 1) < 2e-3)
            #expect(p.decodeContextFactor?.xs == base.decodeContextFactor?.xs && p.decodeContextFactor?.ys == base.decodeContextFactor?.ys)
        }
    }

    @Test func profileYAMLFormatAndErrors() throws {
        let yaml = """
            hardware: x1
            gpuMemoryGiB: 40
            profiles:
              - model: tiny
                tensorParallel: 1
                kvCapacityTokens: 1000
                prefill: {batchTokens: [100, 1000], tokensPerSecond: [1000, 2000]}
                decode: {batchSize: [1, 8], stepMs: [10, 20], referenceContextTokens: 100, contextMsPerToken: 0.001}
            """
        let p = try #require(try HardwareProfile.fromYAML(yaml).first)
        #expect(p.hardware == "x1" && p.model == "tiny" && p.gpuMemoryGiB == 40 && p.kvBytesPerToken == nil)
        #expect(p.prefillTime(batchTokens: 100) == 0.1 && p.prefillTime(batchTokens: 1000) == 0.5)
        #expect(p.decodeTime(batchSize: 8) == 0.02)
        #expect(PerformanceModelTests.close(p.decodeTime(batchSize: 1, contextTokens: 1100), 0.011))
        #expect(try PerformanceModel.load(yaml: yaml).profile(model: "tiny", hardware: "x1", tensorParallel: 1) == p)

        let mismatched = yaml.replacingOccurrences(of: "stepMs: [10, 20]", with: "stepMs: [10]")
        let e1 = #expect(throws: ProfileError.self) { try HardwareProfile.fromYAML(mismatched, source: "x.yaml") }
        #expect(e1?.description == "x.yaml: profiles[0] (tiny, TP1): decode.batchSize and decode.stepMs must be non-empty and of equal length")
        // The composition and context-curve fields (docs/simulation.md, "Parametric profiles").
        let curved = yaml.replacingOccurrences(of: "tokensPerSecond: [1000, 2000]}", with: "tokensPerSecond: [1000, 2000], attentionMsPerSquaredToken: 0.0001, perPromptMs: 5}")
            .replacingOccurrences(of: "contextMsPerToken: 0.001}", with: "contextTokens: [100, 1100], contextFactor: [1, 1.5]}")
        let c = try #require(try HardwareProfile.fromYAML(curved).first)
        #expect(PerformanceModelTests.close(c.prefillTime(PrefillBatch(prompt: 100)), 0.1 + 1e-7 * 1e4 + 0.005))
        #expect(PerformanceModelTests.close(c.prefillTime(PrefillBatch(prompt: 500, count: 2)), 0.5 + 1e-7 * 5e5 + 0.01))
        #expect(PerformanceModelTests.close(c.decodeTime(batchSize: 8, contextTokens: 8 * 600), 0.02 * 1.25))
        for (bad, message) in [
            (curved.replacingOccurrences(of: "contextFactor: [1, 1.5]", with: "contextFactor: [1]"),
             "decode.contextTokens and decode.contextFactor must be non-empty, of equal length, positive, with distinct contextTokens"),
            (curved.replacingOccurrences(of: ", contextFactor: [1, 1.5]", with: ""), "decode.contextTokens and decode.contextFactor go together"),
            (curved.replacingOccurrences(of: "referenceContextTokens: 100,", with: "referenceContextTokens: 100, contextMsPerToken: 0.001,"),
             "decode.contextFactor and decode.contextMsPerToken are alternatives: give one"),
            (curved.replacingOccurrences(of: "perPromptMs: 5", with: "perPromptMs: -5"),
             "prefill.attentionMsPerSquaredToken and prefill.perPromptMs must be non-negative"),
        ] {
            let e = #expect(throws: ProfileError.self) { try HardwareProfile.fromYAML(bad, source: "x.yaml") }
            #expect(e?.description == "x.yaml: profiles[0] (tiny, TP1): \(message)")
        }
        let wrongType = yaml.replacingOccurrences(of: "tensorParallel: 1", with: "tensorParallel: one")
        let e2 = #expect(throws: ProfileError.self) { try HardwareProfile.fromYAML(wrongType, source: "x.yaml") }
        #expect(e2?.description.contains("tensorParallel") == true)
    }
}

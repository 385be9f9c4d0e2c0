import Foundation
import YAML

/// A piecewise-linear function through sorted points, extrapolated linearly beyond both ends from the end
/// segments (like `scipy.interpolate.interp1d(..., fill_value="extrapolate")`). One point gives a constant.
public struct PiecewiseLinear: Sendable, Hashable {
    public let xs: [Double]
    public let ys: [Double]

    /// Points must have distinct x; they are sorted here.
    public init(points: [(x: Double, y: Double)]) {
        precondition(!points.isEmpty, "a curve needs at least one point")
        let sorted = points.sorted { $0.x < $1.x }
        xs = sorted.map(\.x)
        ys = sorted.map(\.y)
        precondition(Set(xs).count == xs.count, "duplicate x in a curve")
    }

    public func callAsFunction(_ x: Double) -> Double {
        let n = xs.count
        if n == 1 { return ys[0] }
        var lo: Int
        if x <= xs[0] {
            lo = 0
        } else if x >= xs[n - 1] {
            lo = n - 2
        } else {
            lo = 0
            var hi = n - 1
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if xs[mid] <= x { lo = mid } else { hi = mid }
            }
        }
        let x0 = xs[lo], x1 = xs[lo + 1]
        let y0 = ys[lo], y1 = ys[lo + 1]
        if x == x0 { return y0 }
        if x == x1 { return y1 }
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
}

/// Iteration times of one model on one hardware type at one tensor-parallel degree, plus the memory figures
/// the simulator needs for KV-cache capacity and transfer sizes.
///
/// Semantics (the native model; docs/simulation.md, "Performance model"): a prefill iteration over a batch of
/// prompts costs `prefill(Σ prompt tokens) + prefillSecondsPerSquaredToken × Σ prompt² +
/// prefillSecondsPerPrompt × prompts`; a decode step costs `decode(batch size)` at the reference context, times
/// the context factor at the batch's mean context per request (or, for profiles without a factor curve, plus a
/// linear per-context-token term); a batch mixing prompt and token work costs the prefill time of all its batch
/// tokens (a token task adds 1) × `mixedBatchFactor` (1.1). splitwise-sim's own semantics (prefill and token
/// time by batch tokens alone) are kept in `referencePrefill` / `referenceTokenTime` for
/// `performanceModel: splitwiseCompat`.
public struct HardwareProfile: Sendable, Hashable {
    public var model: String
    public var hardware: String
    public var tensorParallel: Int
    /// Batch tokens → seconds of the prefill's base (the part that depends on the batch tokens alone); with
    /// zero attention and per-prompt coefficients, the whole prefill time.
    public var prefill: PiecewiseLinear
    /// Prefill seconds per squared prompt token, summed over the batch's prompts (attention, quadratic in each
    /// prompt's length). 0: prefill depends on batch tokens only.
    public var prefillSecondsPerSquaredToken: Double
    /// Prefill seconds per prompt in the batch.
    public var prefillSecondsPerPrompt: Double
    /// Batch size (requests) → seconds per decode step at `decodeReferenceContext` tokens of context each.
    public var decode: PiecewiseLinear
    /// The per-request context at which `decode` was measured (splitwise table: its common prompt size).
    public var decodeReferenceContext: Double
    /// Context per request (tokens) → decode step time relative to the step at `decodeReferenceContext`
    /// (1 there); multiplies `decode(batch size)` at the batch's mean context per request. nil: the linear
    /// `decodeSecondsPerContextToken` adjustment instead.
    public var decodeContextFactor: PiecewiseLinear?
    /// Extra decode seconds per context token beyond the reference (memory-bound attention reads); used only
    /// without `decodeContextFactor` (older parametric profiles).
    public var decodeSecondsPerContextToken: Double
    /// splitwise-sim's own token-time predictor (token time over `prompt_size × batch_size`, evaluated at the
    /// number of token tasks), kept for cross-checking against the reference simulator. nil for parametric
    /// profiles.
    public var referenceTokenTime: PiecewiseLinear?
    /// splitwise-sim's own prompt-time predictor (median prompt time over `prompt_size × batch_size`, failed
    /// runs included), for `performanceModel: splitwiseCompat`. nil for parametric profiles.
    public var referencePrefill: PiecewiseLinear?
    public var mixedBatchFactor: Double
    /// Tokens of KV cache an instance holds (nil when unknown, e.g. loaded from the profiled table alone).
    public var kvCapacityTokens: Int?
    /// Bytes of KV cache per token (all layers, K and V), for KV-transfer sizes.
    public var kvBytesPerToken: Int?
    /// Memory per GPU in GiB.
    public var gpuMemoryGiB: Double?

    public init(
        model: String, hardware: String, tensorParallel: Int, prefill: PiecewiseLinear,
        prefillSecondsPerSquaredToken: Double = 0, prefillSecondsPerPrompt: Double = 0,
        decode: PiecewiseLinear, decodeReferenceContext: Double = 0, decodeContextFactor: PiecewiseLinear? = nil,
        decodeSecondsPerContextToken: Double = 0, referenceTokenTime: PiecewiseLinear? = nil,
        referencePrefill: PiecewiseLinear? = nil, mixedBatchFactor: Double = 1.1, kvCapacityTokens: Int? = nil,
        kvBytesPerToken: Int? = nil, gpuMemoryGiB: Double? = nil
    ) {
        self.model = model
        self.hardware = hardware
        self.tensorParallel = tensorParallel
        self.prefill = prefill
        self.prefillSecondsPerSquaredToken = prefillSecondsPerSquaredToken
        self.prefillSecondsPerPrompt = prefillSecondsPerPrompt
        self.decode = decode
        self.decodeReferenceContext = decodeReferenceContext
        self.decodeContextFactor = decodeContextFactor
        self.decodeSecondsPerContextToken = decodeSecondsPerContextToken
        self.referenceTokenTime = referenceTokenTime
        self.referencePrefill = referencePrefill
        self.mixedBatchFactor = mixedBatchFactor
        self.kvCapacityTokens = kvCapacityTokens
        self.kvBytesPerToken = kvBytesPerToken
        self.gpuMemoryGiB = gpuMemoryGiB
    }

    public var key: ProfileKey { ProfileKey(model: model, hardware: hardware, tensorParallel: tensorParallel) }

    /// Seconds for a prefill iteration over `batch`: base(Σ tokens) + attention × Σ prompt² + per-prompt cost ×
    /// prompts.
    public func prefillTime(_ batch: PrefillBatch) -> Double {
        prefill(Double(batch.tokens)) + prefillSecondsPerSquaredToken * batch.squaredTokens
            + prefillSecondsPerPrompt * Double(batch.prompts)
    }

    /// Seconds for a prefill iteration holding one prompt of `batchTokens` tokens.
    public func prefillTime(batchTokens: Int) -> Double { prefillTime(PrefillBatch(prompt: batchTokens)) }

    /// splitwise-sim's prefill time for `batchTokens` batch tokens (its median prompt time by batch tokens);
    /// the native one-prompt time for profiles without it.
    public func referencePrefillTime(batchTokens: Int) -> Double {
        referencePrefill.map { $0(Double(batchTokens)) } ?? prefillTime(batchTokens: batchTokens)
    }

    /// Seconds for one decode step of `batchSize` requests holding `contextTokens` tokens of context in total
    /// (nil: the reference context). With a context factor curve: `decode(batchSize) × max(½, factor(context ÷
    /// batchSize))`; without: linear in the difference from `batchSize × decodeReferenceContext`, never below
    /// half the reference-context time.
    public func decodeTime(batchSize: Int, contextTokens: Int? = nil) -> Double {
        let base = decode(Double(batchSize))
        guard let contextTokens, batchSize > 0 else { return base }
        if let factor = decodeContextFactor {
            return base * max(0.5, factor(Double(contextTokens) / Double(batchSize)))
        }
        guard decodeSecondsPerContextToken != 0 else { return base }
        let extra =
            decodeSecondsPerContextToken * (Double(contextTokens) - Double(batchSize) * decodeReferenceContext)
        return max(base + extra, base / 2)
    }

    /// Seconds for one iteration holding `promptTokens` prompt tokens (as one prompt) and `decodeRequests`
    /// token tasks. Mixed batches cost prefill(prompt + decode tokens) × `mixedBatchFactor`.
    public func iterationTime(promptTokens: Int, decodeRequests: Int, contextTokens: Int? = nil) -> Double {
        switch (promptTokens > 0, decodeRequests > 0) {
        case (false, false): return 0
        case (true, false): return prefillTime(batchTokens: promptTokens)
        case (false, true): return decodeTime(batchSize: decodeRequests, contextTokens: contextTokens)
        case (true, true): return prefillTime(batchTokens: promptTokens + decodeRequests) * mixedBatchFactor
        }
    }

    /// splitwise-sim's iteration time exactly (prompt work uses its prompt-time predictor, token-only batches
    /// its token-time predictor over batch tokens); falls back to the native times for parametric profiles.
    public func referenceIterationTime(promptTokens: Int, decodeRequests: Int) -> Double {
        switch (promptTokens > 0, decodeRequests > 0) {
        case (false, false): return 0
        case (true, false): return referencePrefillTime(batchTokens: promptTokens)
        case (false, true): return referenceTokenTime.map { $0(Double(decodeRequests)) } ?? decodeTime(batchSize: decodeRequests)
        case (true, true): return referencePrefillTime(batchTokens: promptTokens + decodeRequests) * mixedBatchFactor
        }
    }
}

public struct ProfileKey: Sendable, Hashable, CustomStringConvertible {
    public var model: String
    public var hardware: String
    public var tensorParallel: Int
    public init(model: String, hardware: String, tensorParallel: Int) {
        self.model = model
        self.hardware = hardware
        self.tensorParallel = tensorParallel
    }
    public var description: String { "\(model)/\(hardware)/TP\(tensorParallel)" }
}

/// Malformed performance data: file, 1-based line, column.
public typealias PerformanceModelError = DataFileError

/// A set of hardware profiles keyed by (model, hardware, tensor parallelism).
public struct PerformanceModel: Sendable {
    public private(set) var profiles: [ProfileKey: HardwareProfile]

    public init(profiles: [HardwareProfile] = []) {
        self.profiles = [:]
        for p in profiles { self.profiles[p.key] = p }
    }

    public mutating func add(_ profile: HardwareProfile) { profiles[profile.key] = profile }

    public func profile(model: String, hardware: String, tensorParallel: Int) -> HardwareProfile? {
        profiles[ProfileKey(model: model, hardware: hardware, tensorParallel: tensorParallel)]
    }

    public var keys: [ProfileKey] {
        profiles.keys.sorted { ($0.model, $0.hardware, $0.tensorParallel) < ($1.model, $1.hardware, $1.tensorParallel) }
    }

    /// Columns of the profiled table (splitwise-sim's `perf_model.csv`); others are ignored.
    public static let csvColumns = [
        "model", "hardware", "tensor_parallel", "prompt_size", "batch_size", "token_size", "prompt_time",
        "token_time",
    ]

    /// Loads a profiled table file.
    public static func load(path: String) throws -> PerformanceModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PerformanceModelError(file: path, line: 0, message: "cannot read the file")
        }
        return try load(csv: String(decoding: data, as: UTF8.self), source: path)
    }

    /// Loads a profiled table (times in ms). Per (model, hardware, TP), from the median `prompt_time` and
    /// `token_time` of every (prompt size, batch size) point:
    /// - prefill: `PrefillFit` over the points (N = prompt × batch tokens, Σ prompt² = batch × prompt², batch
    ///   prompts), failed runs dropped (`PrefillFit.dropFailedRuns`): a base curve over batch tokens, an
    ///   attention coefficient and a per-prompt cost, by least squares on relative errors;
    /// - decode: median `token_time` by `batch_size` at the reference prompt size (the prompt size with the most
    ///   distinct batch sizes); the context factor: batch-1 median `token_time` by prompt size over the batch-1
    ///   time at the reference prompt size (piecewise linear through those points, so exact at them);
    /// - splitwise-sim's predictors: median `prompt_time` and `token_time` grouped by batch tokens.
    public static func load(csv: String, source: String = "<memory>") throws -> PerformanceModel {
        struct Row {
            var prompt: Int, batch: Int, promptTime: Double, tokenTime: Double
        }
        var groups: [ProfileKey: [Row]] = [:]
        var order: [ProfileKey] = []
        var header: [String]?
        var lineNumber = 0
        for rawLine in csv.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            let fields = CSVText.trimmedFields(line)
            if fields.count == 1 && fields[0].isEmpty { continue }
            guard let cols = header else {
                header = fields
                for c in csvColumns where !fields.contains(c) {
                    throw PerformanceModelError(file: source, line: lineNumber, column: c, message: "missing column")
                }
                continue
            }
            guard fields.count >= cols.count else {
                throw PerformanceModelError(
                    file: source, line: lineNumber,
                    message: "expected \(cols.count) fields, found \(fields.count)")
            }
            func field(_ name: String) -> String { fields[cols.firstIndex(of: name)!] }
            func int(_ name: String) throws -> Int {
                guard let v = Int(field(name)), v > 0 else {
                    throw PerformanceModelError(
                        file: source, line: lineNumber, column: name,
                        message: "expected a positive integer, found \"\(field(name))\"")
                }
                return v
            }
            func ms(_ name: String) throws -> Double {
                guard let v = Double(field(name)), v.isFinite, v >= 0 else {
                    throw PerformanceModelError(
                        file: source, line: lineNumber, column: name,
                        message: "expected a non-negative time in ms, found \"\(field(name))\"")
                }
                return v / 1000
            }
            let key = ProfileKey(model: field("model"), hardware: field("hardware"), tensorParallel: try int("tensor_parallel"))
            let row = Row(
                prompt: try int("prompt_size"), batch: try int("batch_size"), promptTime: try ms("prompt_time"),
                tokenTime: try ms("token_time"))
            _ = try int("token_size")
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(row)
        }
        guard header != nil else {
            throw PerformanceModelError(file: source, line: 1, message: "empty file: expected a header row")
        }
        var model = PerformanceModel()
        for key in order {
            let rows = groups[key]!
            func medians(_ by: (Row) -> Int, _ value: (Row) -> Double, _ filter: (Row) -> Bool = { _ in true })
                -> [(x: Double, y: Double)]
            {
                var byKey: [Int: [Double]] = [:]
                for r in rows where filter(r) { byKey[by(r), default: []].append(value(r)) }
                return byKey.map { (x: Double($0.key), y: median($0.value)) }
            }
            let referencePrefill = medians({ $0.prompt * $0.batch }, \.promptTime)
            let reference = medians({ $0.prompt * $0.batch }, \.tokenTime)
            var byPoint: [Int: [Int: [Row]]] = [:]
            for r in rows { byPoint[r.prompt, default: [:]][r.batch, default: []].append(r) }
            var points: [PrefillFit.Point] = []
            for (prompt, batches) in byPoint.sorted(by: { $0.key < $1.key }) {
                for (batch, rs) in batches.sorted(by: { $0.key < $1.key }) {
                    points.append(
                        PrefillFit.Point(
                            tokens: prompt * batch, squaredTokens: Double(batch) * Double(prompt) * Double(prompt),
                            prompts: batch, seconds: median(rs.map(\.promptTime))))
                }
            }
            let positive = PrefillFit.dropFailedRuns(points).kept.filter { $0.seconds > 0 }
            let fit = positive.isEmpty ? nil : PrefillFit.fit(positive)
            // Reference prompt size: the one with the most distinct batch sizes (ties: the most rows).
            let refPrompt = byPoint.keys.max {
                (byPoint[$0]!.count, byPoint[$0]!.values.reduce(0) { $0 + $1.count }, -$0)
                    < (byPoint[$1]!.count, byPoint[$1]!.values.reduce(0) { $0 + $1.count }, -$1)
            }!
            let decode = medians(\.batch, \.tokenTime) { $0.prompt == refPrompt }
            let context = medians(\.prompt, \.tokenTime) { $0.batch == 1 }
            var factor: PiecewiseLinear?
            if context.count >= 2 {
                let curve = PiecewiseLinear(points: context)
                let atReference = curve(Double(refPrompt))
                if atReference > 0 { factor = PiecewiseLinear(points: context.map { (x: $0.x, y: $0.y / atReference) }) }
            }
            model.add(
                HardwareProfile(
                    model: key.model, hardware: key.hardware, tensorParallel: key.tensorParallel,
                    prefill: fit?.base ?? PiecewiseLinear(points: referencePrefill),
                    prefillSecondsPerSquaredToken: fit?.secondsPerSquaredToken ?? 0,
                    prefillSecondsPerPrompt: fit?.secondsPerPrompt ?? 0,
                    decode: PiecewiseLinear(points: decode), decodeReferenceContext: Double(refPrompt),
                    decodeContextFactor: factor, referenceTokenTime: PiecewiseLinear(points: reference),
                    referencePrefill: PiecewiseLinear(points: referencePrefill)))
        }
        return model
    }

    /// The median (mean of the middle two for an even count), as pandas computes it.
    public static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        let n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }
}

private func median(_ values: [Double]) -> Double { PerformanceModel.median(values) }

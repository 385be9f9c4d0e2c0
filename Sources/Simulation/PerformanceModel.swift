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
/// Semantics (after splitwise-sim's `DatabasePerformanceModel`): a prefill iteration costs `prefill(batch
/// tokens)` where every prompt in the batch adds its prompt length; a decode iteration costs `decode(batch
/// size)`, optionally adjusted for context; a batch mixing prompt and token work costs the prefill time of all
/// its batch tokens (a token task adds 1) × `mixedBatchFactor` (1.1).
public struct HardwareProfile: Sendable, Hashable {
    public var model: String
    public var hardware: String
    public var tensorParallel: Int
    /// Batch tokens → seconds.
    public var prefill: PiecewiseLinear
    /// Batch size (requests) → seconds per decode step at `decodeReferenceContext` tokens of context each.
    public var decode: PiecewiseLinear
    /// The per-request context at which `decode` was measured (splitwise table: its common prompt size).
    public var decodeReferenceContext: Double
    /// Extra decode seconds per context token beyond the reference (memory-bound attention reads).
    public var decodeSecondsPerContextToken: Double
    /// splitwise-sim's own token-time predictor (token time over `prompt_size × batch_size`, evaluated at the
    /// number of token tasks), kept for cross-checking against the reference simulator. nil for parametric
    /// profiles.
    public var referenceTokenTime: PiecewiseLinear?
    public var mixedBatchFactor: Double
    /// Tokens of KV cache an instance holds (nil when unknown, e.g. loaded from the profiled table alone).
    public var kvCapacityTokens: Int?
    /// Bytes of KV cache per token (all layers, K and V), for KV-transfer sizes.
    public var kvBytesPerToken: Int?
    /// Memory per GPU in GiB.
    public var gpuMemoryGiB: Double?

    public init(
        model: String, hardware: String, tensorParallel: Int, prefill: PiecewiseLinear,
        decode: PiecewiseLinear, decodeReferenceContext: Double = 0, decodeSecondsPerContextToken: Double = 0,
        referenceTokenTime: PiecewiseLinear? = nil, mixedBatchFactor: Double = 1.1, kvCapacityTokens: Int? = nil,
        kvBytesPerToken: Int? = nil, gpuMemoryGiB: Double? = nil
    ) {
        self.model = model
        self.hardware = hardware
        self.tensorParallel = tensorParallel
        self.prefill = prefill
        self.decode = decode
        self.decodeReferenceContext = decodeReferenceContext
        self.decodeSecondsPerContextToken = decodeSecondsPerContextToken
        self.referenceTokenTime = referenceTokenTime
        self.mixedBatchFactor = mixedBatchFactor
        self.kvCapacityTokens = kvCapacityTokens
        self.kvBytesPerToken = kvBytesPerToken
        self.gpuMemoryGiB = gpuMemoryGiB
    }

    public var key: ProfileKey { ProfileKey(model: model, hardware: hardware, tensorParallel: tensorParallel) }

    /// Seconds for a prefill-only iteration over `batchTokens` prompt tokens.
    public func prefillTime(batchTokens: Int) -> Double { prefill(Double(batchTokens)) }

    /// Seconds for one decode step of `batchSize` requests holding `contextTokens` tokens of context in total
    /// (nil: the reference context). The context adjustment is linear in the difference from
    /// `batchSize × decodeReferenceContext` and never takes the step below half the reference-context time.
    public func decodeTime(batchSize: Int, contextTokens: Int? = nil) -> Double {
        let base = decode(Double(batchSize))
        guard let contextTokens, decodeSecondsPerContextToken != 0 else { return base }
        let extra =
            decodeSecondsPerContextToken * (Double(contextTokens) - Double(batchSize) * decodeReferenceContext)
        return max(base + extra, base / 2)
    }

    /// Seconds for one iteration holding `promptTokens` prompt tokens (summed over its prompt tasks) and
    /// `decodeRequests` token tasks. Mixed batches cost prefill(prompt + decode tokens) × `mixedBatchFactor`.
    public func iterationTime(promptTokens: Int, decodeRequests: Int, contextTokens: Int? = nil) -> Double {
        switch (promptTokens > 0, decodeRequests > 0) {
        case (false, false): return 0
        case (true, false): return prefillTime(batchTokens: promptTokens)
        case (false, true): return decodeTime(batchSize: decodeRequests, contextTokens: contextTokens)
        case (true, true): return prefillTime(batchTokens: promptTokens + decodeRequests) * mixedBatchFactor
        }
    }

    /// splitwise-sim's iteration time exactly (token-only batches use its token-time predictor over batch
    /// tokens); falls back to `iterationTime` for parametric profiles.
    public func referenceIterationTime(promptTokens: Int, decodeRequests: Int) -> Double {
        if promptTokens == 0, decodeRequests > 0, let referenceTokenTime {
            return referenceTokenTime(Double(decodeRequests))
        }
        return iterationTime(promptTokens: promptTokens, decodeRequests: decodeRequests)
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

    /// Loads a profiled table (times in ms). Per (model, hardware, TP):
    /// - prefill: median `prompt_time` grouped by batch tokens = `prompt_size × batch_size`;
    /// - decode: median `token_time` grouped by `batch_size` over the rows at the reference prompt size (the
    ///   prompt size with the most distinct batch sizes); the context slope is a least-squares fit of the
    ///   median `token_time` against `prompt_size` over batch-1 rows;
    /// - reference token time: median `token_time` grouped by batch tokens (splitwise-sim's predictor).
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
            let prefill = medians({ $0.prompt * $0.batch }, \.promptTime)
            let reference = medians({ $0.prompt * $0.batch }, \.tokenTime)
            // Reference prompt size: the one with the most distinct batch sizes (ties: the most rows).
            var batchesByPrompt: [Int: Set<Int>] = [:]
            var rowsByPrompt: [Int: Int] = [:]
            for r in rows {
                batchesByPrompt[r.prompt, default: []].insert(r.batch)
                rowsByPrompt[r.prompt, default: 0] += 1
            }
            let refPrompt = batchesByPrompt.keys.max {
                (batchesByPrompt[$0]!.count, rowsByPrompt[$0]!, -$0) < (batchesByPrompt[$1]!.count, rowsByPrompt[$1]!, -$1)
            }!
            let decode = medians(\.batch, \.tokenTime) { $0.prompt == refPrompt }
            let context = medians(\.prompt, \.tokenTime) { $0.batch == 1 }
            model.add(
                HardwareProfile(
                    model: key.model, hardware: key.hardware, tensorParallel: key.tensorParallel,
                    prefill: PiecewiseLinear(points: prefill), decode: PiecewiseLinear(points: decode),
                    decodeReferenceContext: Double(refPrompt),
                    decodeSecondsPerContextToken: max(0, slope(context)),
                    referenceTokenTime: PiecewiseLinear(points: reference)))
        }
        return model
    }

    /// The median (mean of the middle two for an even count), as pandas computes it.
    public static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        let n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    static func slope(_ points: [(x: Double, y: Double)]) -> Double {
        guard points.count >= 2 else { return 0 }
        let n = Double(points.count)
        let mx = points.map(\.x).reduce(0, +) / n
        let my = points.map(\.y).reduce(0, +) / n
        var sxy = 0.0
        var sxx = 0.0
        for p in points {
            sxy += (p.x - mx) * (p.y - my)
            sxx += (p.x - mx) * (p.x - mx)
        }
        return sxx > 0 ? sxy / sxx : 0
    }
}

private func median(_ values: [Double]) -> Double { PerformanceModel.median(values) }

import Foundation

/// The `workload` section of a scenario: a recorded trace or a synthetic pattern, then optional time and rate
/// scaling and a duration cut. Decoded from YAML with `YAML.decode`.
///
/// ```yaml
/// workload:
///   trace: ../shared/data/AzureLLMInferenceTrace_conv.csv   # format: azure | splitwise (default: detected)
///   timeScale: 0.5        # arrivals × 0.5 (twice the rate, half the length)
///   rateScale: 2          # twice the requests on the same time axis
///   duration: 600         # requests arriving before 600 s
/// ---
/// workload:
///   arrivals: {kind: diurnal, peakRate: 40, peakToTrough: 4, period: 3600, peakAt: 1800,
///              flashCrowds: [{factor: 3, start: 2400, duration: 300}]}
///   sizes: {fromTrace: ../shared/data/AzureLLMInferenceTrace_conv.csv}
///   duration: 3600
///   seed: 7
/// ---
/// workload:                # phases run back to back, each for its own duration
///   phases:
///     - {arrivals: {kind: constant, rate: 8}, sizes: {fromTrace: ../shared/data/AzureLLMInferenceTrace_conv.csv}, duration: 300}
///     - {arrivals: {kind: constant, rate: 8}, sizes: {fromTrace: ../shared/data/AzureLLMInferenceTrace_code.csv}, duration: 300}
/// ```
public struct WorkloadSpec: Codable, Sendable, Hashable {
    public var trace: String?
    public var format: TraceFormat?
    public var arrivals: ArrivalSpec?
    public var sizes: SizesSpec?
    public var duration: Double?
    public var seed: UInt64?
    public var timeScale: Double?
    public var rateScale: Double?
    /// Workloads laid end to end: phase k starts when phases 0..<k have run their `duration`s (each phase
    /// needs one). The outer `timeScale`, `rateScale` and `duration` apply to the whole.
    public var phases: [WorkloadSpec]?

    public init(
        trace: String? = nil, format: TraceFormat? = nil, arrivals: ArrivalSpec? = nil, sizes: SizesSpec? = nil,
        duration: Double? = nil, seed: UInt64? = nil, timeScale: Double? = nil, rateScale: Double? = nil
    ) {
        self.trace = trace
        self.format = format
        self.arrivals = arrivals
        self.sizes = sizes
        self.duration = duration
        self.seed = seed
        self.timeScale = timeScale
        self.rateScale = rateScale
    }

    /// Builds the request stream. Relative paths resolve against `baseDirectory` (the scenario file's folder).
    /// `independentSizes` draws `sizes.fromTrace` prompt and output sizes independently (splitwise-sim's
    /// generator; the scenario's `performanceModel: splitwiseCompat` sets it).
    public func makeStream(baseDirectory: String = ".", independentSizes: Bool = false) throws -> AnyRequestStream {
        let seed = self.seed ?? 0
        var stream: AnyRequestStream
        if let phases {
            guard trace == nil, arrivals == nil, !phases.isEmpty else {
                throw WorkloadSpecError("workload.phases: give phases alone (no `trace` or `arrivals` beside them), at least one")
            }
            var parts: [(AnyRequestStream, Double)] = []
            var offset = 0.0
            for (i, phase) in phases.enumerated() {
                guard let d = phase.duration, d > 0 else {
                    throw WorkloadSpecError("workload.phases[\(i)].duration: every phase needs a positive duration")
                }
                var phase = phase
                if phase.seed == nil { phase.seed = SplitMix64.mix(seed &+ UInt64(i)) }
                do {
                    parts.append((try phase.makeStream(baseDirectory: baseDirectory, independentSizes: independentSizes), offset))
                } catch let e as WorkloadSpecError {
                    throw WorkloadSpecError(e.message.replacingOccurrences(of: "workload.", with: "workload.phases[\(i)].", options: .anchored))
                }
                offset += d
            }
            stream = PhasedStream(parts: parts).eraseToAnyStream()
            return try scaled(stream)
        }
        switch (trace, arrivals) {
        case (let path?, nil):
            let full = Self.resolve(path, baseDirectory)
            stream = try (format ?? TraceFormat.detect(path: full)).open(path: full)
        case (nil, let arrivals?):
            guard duration != nil else {
                throw WorkloadSpecError("workload.duration: a synthetic workload needs a duration")
            }
            let pattern = try arrivals.pattern(seed: seed)
            var sizes = try (self.sizes ?? SizesSpec()).sizes(baseDirectory: baseDirectory)
            if independentSizes { sizes = sizes.independentColumns }
            stream = SyntheticWorkload(pattern: pattern, sizes: sizes, duration: duration, seed: seed)
                .eraseToAnyStream()
        default:
            throw WorkloadSpecError("workload: give exactly one of `trace`, `arrivals` and `phases`")
        }
        return try scaled(stream)
    }

    /// The outer time scaling, rate scaling and duration cut.
    private func scaled(_ input: AnyRequestStream) throws -> AnyRequestStream {
        let seed = self.seed ?? 0
        var stream = input
        if let timeScale {
            guard timeScale > 0 else { throw WorkloadSpecError("workload.timeScale: must be positive") }
            stream = stream.timeScaled(by: timeScale).eraseToAnyStream()
        }
        if let rateScale {
            guard rateScale >= 0 else { throw WorkloadSpecError("workload.rateScale: must be non-negative") }
            stream = stream.rateScaled(by: rateScale, seed: SplitMix64.mix(seed ^ 0x52_41_54_45)).eraseToAnyStream()
        }
        if let duration {
            guard duration > 0 else { throw WorkloadSpecError("workload.duration: must be positive") }
            stream = stream.truncated(to: duration).eraseToAnyStream()
        }
        return stream
    }

    /// The files the workload names, with their keys (`workload.trace`, `workload.phases[1].sizes.fromTrace`).
    public func files(key: String) -> [(key: String, path: String)] {
        var out: [(key: String, path: String)] = []
        if let trace { out.append(("\(key).trace", trace)) }
        if let f = sizes?.fromTrace { out.append(("\(key).sizes.fromTrace", f)) }
        for (i, phase) in (phases ?? []).enumerated() { out += phase.files(key: "\(key).phases[\(i)]") }
        return out
    }

    /// The same workload with its relative file paths resolved against `baseDirectory` (for a file written elsewhere).
    public func resolvingPaths(_ baseDirectory: String) -> WorkloadSpec {
        var w = self
        w.trace = trace.map { Self.resolve($0, baseDirectory) }
        if let f = sizes?.fromTrace { w.sizes?.fromTrace = Self.resolve(f, baseDirectory) }
        w.phases = phases?.map { $0.resolvingPaths(baseDirectory) }
        return w
    }

    static func resolve(_ path: String, _ base: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardized.path
    }
}

public struct WorkloadSpecError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An arrival pattern in a scenario file; `kind` selects which fields apply.
public struct ArrivalSpec: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case constant, diurnal, quickRise, fluctuating, piecewise
    }
    public var kind: Kind
    /// constant: requests per second.
    public var rate: Double?
    /// diurnal.
    public var peakRate: Double?
    public var peakToTrough: Double?
    public var period: Double?
    public var peakAt: Double?
    /// quickRise.
    public var from: Double?
    public var to: Double?
    public var start: Double?
    public var rampDuration: Double?
    /// fluctuating (the seed comes from the workload's seed).
    public var mean: Double?
    public var amplitude: Double?
    public var interval: Double?
    /// piecewise.
    public var points: [ArrivalPattern.RatePoint]?
    /// Flash crowds on top of any kind.
    public var flashCrowds: [FlashCrowd]?

    public struct FlashCrowd: Codable, Sendable, Hashable {
        public var factor: Double
        public var start: Double
        public var duration: Double
        public init(factor: Double, start: Double, duration: Double) {
            self.factor = factor
            self.start = start
            self.duration = duration
        }
    }

    public init(kind: Kind) { self.kind = kind }

    public func pattern(seed: UInt64 = 0) throws -> ArrivalPattern {
        func need(_ v: Double?, _ name: String, positive: Bool = false) throws -> Double {
            guard let v, v.isFinite, positive ? v > 0 : v >= 0 else {
                throw WorkloadSpecError(
                    "workload.arrivals.\(name): \(kind.rawValue) needs a \(positive ? "positive" : "non-negative") number")
            }
            return v
        }
        var p: ArrivalPattern
        switch kind {
        case .constant: p = .constant(rate: try need(rate, "rate"))
        case .diurnal:
            let ratio = try need(peakToTrough, "peakToTrough", positive: true)
            guard ratio >= 1 else { throw WorkloadSpecError("workload.arrivals.peakToTrough: must be at least 1") }
            let period = try need(period, "period", positive: true)
            p = .diurnal(
                peakRate: try need(peakRate, "peakRate"), peakToTrough: ratio, period: period,
                peakAt: peakAt ?? period / 2)
        case .quickRise:
            p = .quickRise(
                from: try need(from, "from"), to: try need(to, "to"), start: try need(start, "start"),
                rampDuration: try need(rampDuration, "rampDuration"))
        case .fluctuating:
            let amplitude = try need(amplitude, "amplitude")
            guard amplitude <= 1 else { throw WorkloadSpecError("workload.arrivals.amplitude: must be at most 1") }
            p = .fluctuating(
                mean: try need(mean, "mean"), amplitude: amplitude, interval: try need(interval, "interval", positive: true),
                seed: seed)
        case .piecewise:
            guard let points, !points.isEmpty, points.allSatisfy({ $0.rate >= 0 }),
                zip(points, points.dropFirst()).allSatisfy({ $0.time <= $1.time })
            else {
                throw WorkloadSpecError(
                    "workload.arrivals.points: piecewise needs points with non-negative rates in time order")
            }
            p = .piecewise(points)
        }
        for (i, f) in (flashCrowds ?? []).enumerated() {
            guard f.factor >= 0, f.duration >= 0 else {
                throw WorkloadSpecError("workload.arrivals.flashCrowds[\(i)]: factor and duration must be non-negative")
            }
            p = .flashCrowd(base: p, factor: f.factor, start: f.start, duration: f.duration)
        }
        return p
    }
}

/// Token sizes in a scenario file: one of `constant`, `lognormal`, `fromTrace` (empirical); default: the
/// Azure conversation trace's lognormal fit (prompt mean 1155 / median 1020, output 211 / 129).
public struct SizesSpec: Codable, Sendable, Hashable {
    public var constant: Constant?
    public var lognormal: LogNormals?
    public var fromTrace: String?

    public struct Constant: Codable, Sendable, Hashable {
        public var prompt: Int
        public var output: Int
    }
    public struct LogNormals: Codable, Sendable, Hashable {
        public var prompt: Dist
        public var output: Dist
    }
    public struct Dist: Codable, Sendable, Hashable {
        public var mean: Double
        public var median: Double
        public var min: Int?
        public var max: Int?
    }

    public init(constant: Constant? = nil, lognormal: LogNormals? = nil, fromTrace: String? = nil) {
        self.constant = constant
        self.lognormal = lognormal
        self.fromTrace = fromTrace
    }

    public func sizes(baseDirectory: String = ".") throws -> TokenSizes {
        let given = [constant != nil, lognormal != nil, fromTrace != nil].filter { $0 }.count
        guard given <= 1 else {
            throw WorkloadSpecError("workload.sizes: give one of `constant`, `lognormal`, `fromTrace`")
        }
        if let c = constant {
            guard c.prompt > 0, c.output > 0 else {
                throw WorkloadSpecError("workload.sizes.constant: prompt and output must be positive")
            }
            return .constant(prompt: c.prompt, output: c.output)
        }
        if let path = fromTrace {
            let full = WorkloadSpec.resolve(path, baseDirectory)
            return try TokenSizes.empirical(from: try TraceFormat.detect(path: full).open(path: full))
        }
        let l = lognormal ?? LogNormals(
            prompt: Dist(mean: 1154.7, median: 1020, min: 1, max: 14_050),
            output: Dist(mean: 211.1, median: 129, min: 1, max: 1000))
        func dist(_ d: Dist, _ name: String) throws -> TokenSizes.LogNormal {
            guard d.median > 0, d.mean >= d.median else {
                throw WorkloadSpecError("workload.sizes.lognormal.\(name): needs mean ≥ median > 0")
            }
            return TokenSizes.LogNormal(mean: d.mean, median: d.median, min: d.min ?? 1, max: d.max ?? .max)
        }
        return .lognormal(prompt: try dist(l.prompt, "prompt"), output: try dist(l.output, "output"))
    }
}

import KubeAPI

/// A problem building an `SLAProfile` (bad points, or a CSV that does not parse).
public struct SLAProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    /// 1-based CSV line, when the problem is on one.
    public var line: Int?
    public init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }
    public var description: String { line.map { "line \($0): \(message)" } ?? message }
}

/// Where the decode profile says the pool should run for a given ITL.
public struct DecodeOperatingPoint: Sendable, Hashable {
    public var throughputPerGPU: Double
    public var itlMilliseconds: Double
    public var kvUsage: Double
    /// False when even the lowest profiled KV usage exceeds the ITL (the point returned is that lowest one).
    public var meetsTarget: Bool
}

/// The profiled performance of one model on one kind of hardware, as NVIDIA Dynamo's SLA planner uses it:
/// - prefill: ISL → TTFT (ms) and prefill throughput per GPU (tokens/s), interpolated over ISL and clamped to
///   the profiled ISL range;
/// - decode: (KV-cache usage 0…1, context length) → ITL (ms) and decode throughput per GPU (tokens/s).
///   Decode points are grouped into slices of equal context length; within a slice values are interpolated
///   over KV usage (clamped at the slice's ends), and between the two slices around a context they are mixed
///   linearly (clamped to the first/last slice outside the profiled contexts).
///
/// The interpolation within each dimension is `monotoneCubic` (Fritsch–Carlson, default) or `linear`.
/// Parsing is from strings handed in by the caller (`parse(csv:)`) or from the spec's inline points; this module
/// never reads files.
public struct SLAProfile: Sendable, Hashable {
    struct DecodeSlice: Sendable, Hashable {
        var context: Double
        var itl: Interpolator
        var throughput: Interpolator
    }

    public let prefillPoints: [PrefillProfilePoint]
    public let decodePoints: [DecodeProfilePoint]
    public let method: InterpolationMethod
    /// KV-cache capacity of one decode instance in tokens (optional; see `SLAObservation.decodeKVUsage`).
    public let maxKVTokens: Double?
    let ttft: Interpolator
    let prefillThroughput: Interpolator
    let slices: [DecodeSlice]

    public init(
        prefill: [PrefillProfilePoint], decode: [DecodeProfilePoint], method: InterpolationMethod = .monotoneCubic,
        maxKVTokens: Double? = nil
    ) throws(SLAProfileError) {
        if let problem = Self.problems(prefill: prefill, decode: decode, maxKVTokens: maxKVTokens).first {
            throw SLAProfileError(problem)
        }
        prefillPoints = prefill
        decodePoints = decode
        self.method = method
        self.maxKVTokens = maxKVTokens
        do {
            ttft = try Interpolator(xs: prefill.map(\.isl), ys: prefill.map(\.ttftMilliseconds), method: method)
            prefillThroughput = try Interpolator(xs: prefill.map(\.isl), ys: prefill.map(\.throughputPerGPU), method: method)
            var byContext: [Double: [DecodeProfilePoint]] = [:]
            for point in decode { byContext[point.context, default: []].append(point) }
            slices = try byContext.keys.sorted().map { context in
                let points = byContext[context]!
                return DecodeSlice(
                    context: context,
                    itl: try Interpolator(xs: points.map(\.kvUsage), ys: points.map(\.itlMilliseconds), method: method),
                    throughput: try Interpolator(xs: points.map(\.kvUsage), ys: points.map(\.throughputPerGPU), method: method))
            }
        } catch {
            throw SLAProfileError((error as? InterpolationError)?.message ?? "\(error)")
        }
    }

    /// From the spec's inline points. A spec that only names a `file` must be resolved by the caller first (read
    /// the file, then `parse(csv:)`, or decode YAML into `SLAProfileSpec`).
    public init(spec: SLAProfileSpec) throws(SLAProfileError) {
        guard let method = Self.method(named: spec.interpolation) else {
            throw SLAProfileError("unknown interpolation \"\(spec.interpolation ?? "")\" (use monotoneCubic or linear)")
        }
        let prefill = spec.prefill ?? []
        let decode = spec.decode ?? []
        if prefill.isEmpty && decode.isEmpty, let file = spec.file {
            throw SLAProfileError("profile file \"\(file)\" has not been loaded; read it and pass its contents to SLAProfile.parse(csv:)")
        }
        try self.init(prefill: prefill, decode: decode, method: method, maxKVTokens: spec.maxKVTokens)
    }

    /// `monotoneCubic` (also `monotone_cubic`, `pchip`, `cubic`; the default when nil) or `linear`.
    public static func method(named name: String?) -> InterpolationMethod? {
        guard let name else { return .monotoneCubic }
        switch name.lowercased().filter({ $0 != "_" && $0 != "-" }) {
        case "monotonecubic", "pchip", "cubic", "fritschcarlson": return .monotoneCubic
        case "linear": return .linear
        default: return nil
        }
    }

    /// Human-readable problems with a set of points (empty when fine).
    public static func problems(prefill: [PrefillProfilePoint], decode: [DecodeProfilePoint], maxKVTokens: Double? = nil) -> [String] {
        var out: [String] = []
        if prefill.isEmpty { out.append("the profile needs at least one prefill point") }
        if decode.isEmpty { out.append("the profile needs at least one decode point") }
        for (i, p) in prefill.enumerated() {
            if !(p.isl.isFinite && p.isl > 0) { out.append("prefill[\(i)].isl must be positive") }
            if !(p.ttftMilliseconds.isFinite && p.ttftMilliseconds > 0) { out.append("prefill[\(i)].ttftMilliseconds must be positive") }
            if !(p.throughputPerGPU.isFinite && p.throughputPerGPU > 0) { out.append("prefill[\(i)].throughputPerGPU must be positive") }
        }
        for (i, p) in decode.enumerated() {
            if !(p.kvUsage.isFinite && p.kvUsage >= 0 && p.kvUsage <= 1) { out.append("decode[\(i)].kvUsage must be in [0, 1]") }
            if !(p.context.isFinite && p.context > 0) { out.append("decode[\(i)].context must be positive") }
            if !(p.itlMilliseconds.isFinite && p.itlMilliseconds > 0) { out.append("decode[\(i)].itlMilliseconds must be positive") }
            if !(p.throughputPerGPU.isFinite && p.throughputPerGPU > 0) { out.append("decode[\(i)].throughputPerGPU must be positive") }
        }
        if let m = maxKVTokens, !(m.isFinite && m > 0) { out.append("maxKVTokens must be positive") }
        return out
    }

    // MARK: - Lookups

    /// Expected TTFT (ms) of a prompt of `isl` tokens on an idle prefill instance.
    public func expectedTTFT(isl: Double) -> Double { ttft(isl) }

    /// Prefill tokens/s one GPU sustains at prompts of `isl` tokens.
    public func prefillThroughputPerGPU(isl: Double) -> Double { prefillThroughput(isl) }

    /// Expected ITL (ms) at a KV usage and context length.
    public func expectedITL(kvUsage: Double, context: Double) -> Double {
        mix(context) { $0.itl(kvUsage) }
    }

    /// Decode tokens/s per GPU at a KV usage and context length.
    public func decodeThroughputPerGPU(kvUsage: Double, context: Double) -> Double {
        mix(context) { $0.throughput(kvUsage) }
    }

    /// The highest-throughput operating point whose ITL stays at or below `itlMilliseconds` for `context`:
    /// KV usage is scanned from the highest profiled value down (in `resolution` steps, because an interpolated
    /// ITL need not be monotone) and the first crossing is refined by bisection. When no KV usage meets the
    /// target, the lowest one is returned with `meetsTarget == false`.
    public func bestDecodeThroughput(itlMilliseconds target: Double, context: Double, resolution: Int = 100) -> DecodeOperatingPoint {
        let (lo, hi) = kvRange(context)
        let steps = max(2, resolution)
        func kv(_ i: Int) -> Double { hi - (hi - lo) * Double(i) / Double(steps - 1) }
        func point(_ k: Double, meets: Bool) -> DecodeOperatingPoint {
            DecodeOperatingPoint(
                throughputPerGPU: decodeThroughputPerGPU(kvUsage: k, context: context),
                itlMilliseconds: expectedITL(kvUsage: k, context: context), kvUsage: k, meetsTarget: meets)
        }
        for i in 0..<steps {
            let k = kv(i)
            guard expectedITL(kvUsage: k, context: context) <= target else { continue }
            if i == 0 { return point(k, meets: true) }
            var good = k, bad = kv(i - 1)
            for _ in 0..<60 {
                let mid = (good + bad) / 2
                if expectedITL(kvUsage: mid, context: context) <= target { good = mid } else { bad = mid }
            }
            return point(good, meets: true)
        }
        return point(lo, meets: false)
    }

    /// The KV usage range profiled for the slices around `context`.
    func kvRange(_ context: Double) -> (Double, Double) {
        let (a, b, _) = bracket(context)
        let lo = min(slices[a].itl.domain.lowerBound, slices[b].itl.domain.lowerBound)
        let hi = max(slices[a].itl.domain.upperBound, slices[b].itl.domain.upperBound)
        return (lo, hi)
    }

    /// The slices around `context` and the weight of the upper one.
    func bracket(_ context: Double) -> (Int, Int, Double) {
        let n = slices.count
        if n == 1 || context <= slices[0].context { return (0, 0, 0) }
        if context >= slices[n - 1].context { return (n - 1, n - 1, 0) }
        var upper = 1
        while slices[upper].context < context { upper += 1 }
        let a = slices[upper - 1].context, b = slices[upper].context
        return (upper - 1, upper, (context - a) / (b - a))
    }

    func mix(_ context: Double, _ value: (DecodeSlice) -> Double) -> Double {
        let (a, b, u) = bracket(context)
        if a == b || u == 0 { return value(slices[a]) }
        return (1 - u) * value(slices[a]) + u * value(slices[b])
    }

    // MARK: - CSV

    /// Parses a profile CSV (the caller reads the file). One header row, then one point per row; blank lines
    /// and lines starting with `#` are skipped; fields may be double-quoted. Columns (case-insensitive, `_`/`-`
    /// ignored, any order):
    /// - `role` (or `phase`): `prefill` or `decode`; without it a row is a decode point when it has a KV usage;
    /// - prefill: `isl`, `ttft_ms` (or `ttft`, `ttftMilliseconds`), `throughput_per_gpu` (or `thpt_per_gpu`);
    /// - decode: `kv_usage` (or `kvUsage`, `x_kv_usage`), `context` (or `context_length`), `itl_ms` (or `itl`),
    ///   `throughput_per_gpu`.
    ///
    /// ```
    /// role,isl,ttft_ms,kv_usage,context,itl_ms,throughput_per_gpu
    /// prefill,1000,100,,,,10000
    /// decode,,,0.5,2100,40,1000
    /// ```
    public static func parse(csv: String, method: InterpolationMethod = .monotoneCubic, maxKVTokens: Double? = nil) throws(SLAProfileError) -> SLAProfile {
        let (prefill, decode) = try parsePoints(csv: csv)
        return try SLAProfile(prefill: prefill, decode: decode, method: method, maxKVTokens: maxKVTokens)
    }

    /// The points of a profile CSV (see `parse(csv:)`).
    public static func parsePoints(csv: String) throws(SLAProfileError) -> (prefill: [PrefillProfilePoint], decode: [DecodeProfilePoint]) {
        enum Column { case role, isl, ttft, kv, context, itl, throughput, ignored }
        func column(_ name: String) -> Column {
            switch name.lowercased().filter({ $0 != "_" && $0 != "-" && $0 != " " }) {
            case "role", "phase", "type", "mode": return .role
            case "isl", "prefillisl", "inputlength": return .isl
            case "ttft", "ttftms", "ttftmilliseconds", "prefillttft": return .ttft
            case "kvusage", "xkvusage", "kv": return .kv
            case "context", "contextlength", "ycontextlength": return .context
            case "itl", "itlms", "itlmilliseconds", "zitl", "tbt", "tbtms": return .itl
            case "throughputpergpu", "thptpergpu", "prefillthptpergpu", "zthptpergpu", "throughput": return .throughput
            default: return .ignored
            }
        }
        var header: [Column]?
        var prefill: [PrefillProfilePoint] = []
        var decode: [DecodeProfilePoint] = []
        var lineNumber = 0
        for rawLine in csv.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = rawLine.trimmedOf(" \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = splitCSVLine(line)
            guard let columns = header else {
                let cols = fields.map(column)
                for required in [Column.throughput] where !cols.contains(where: { $0 == required }) {
                    throw SLAProfileError("the header has no throughput_per_gpu column", line: lineNumber)
                }
                header = cols
                continue
            }
            var values: [Column: String] = [:]
            for (i, field) in fields.enumerated() where i < columns.count && columns[i] != .ignored && !field.isEmpty {
                values[columns[i]] = field
            }
            func number(_ c: Column, _ name: String) throws(SLAProfileError) -> Double {
                guard let text = values[c] else { throw SLAProfileError("missing \(name)", line: lineNumber) }
                guard let v = Double(text), v.isFinite else { throw SLAProfileError("\(name) \"\(text)\" is not a number", line: lineNumber) }
                return v
            }
            let role = values[.role]?.lowercased() ?? (values[.kv] != nil ? "decode" : "prefill")
            switch role {
            case "prefill", "p":
                prefill.append(PrefillProfilePoint(
                    isl: try number(.isl, "isl"), ttftMilliseconds: try number(.ttft, "ttft_ms"),
                    throughputPerGPU: try number(.throughput, "throughput_per_gpu")))
            case "decode", "d":
                decode.append(DecodeProfilePoint(
                    kvUsage: try number(.kv, "kv_usage"), context: try number(.context, "context"),
                    itlMilliseconds: try number(.itl, "itl_ms"), throughputPerGPU: try number(.throughput, "throughput_per_gpu")))
            default:
                throw SLAProfileError("unknown role \"\(role)\" (prefill or decode)", line: lineNumber)
            }
        }
        guard header != nil else { throw SLAProfileError("the CSV is empty") }
        return (prefill, decode)
    }

    static func splitCSVLine(_ line: String) -> [String] {
        var fields: [String] = []
        var current = ""
        var quoted = false
        var iterator = line.makeIterator()
        while let ch = iterator.next() {
            if quoted {
                if ch == "\"" {
                    if let nextCh = iterator.next() {
                        if nextCh == "\"" { current.append("\"") } else {
                            quoted = false
                            if nextCh == "," { fields.append(current); current = "" } else { current.append(nextCh) }
                        }
                    } else {
                        quoted = false
                    }
                } else {
                    current.append(ch)
                }
            } else if ch == "\"" {
                quoted = true
            } else if ch == "," {
                fields.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        fields.append(current)
        return fields.map { $0.trimmedOf(" \t") }
    }
}

extension StringProtocol {
    /// Trims the given characters from both ends (Foundation-free).
    fileprivate func trimmedOf(_ set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// Groups parsed samples into families by the `TYPE` lines seen so far (never by suffix alone).
struct FamilyBuilder {
    private var families: [MetricFamily] = []
    private var index: [String: Int] = [:]
    private var typed: Set<String> = []
    private var helped: Set<String> = []

    private mutating func familyIndex(_ name: String) -> Int {
        if let i = index[name] { return i }
        families.append(MetricFamily(name: name))
        index[name] = families.count - 1
        return families.count - 1
    }

    mutating func setHelp(_ help: String, for name: String, line: Int) throws {
        guard helped.insert(name).inserted else { throw PrometheusTextError(line: line, message: "second HELP line for \(name)") }
        families[familyIndex(name)].help = help
    }

    mutating func setType(_ type: MetricType, for name: String, line: Int) throws {
        guard typed.insert(name).inserted else { throw PrometheusTextError(line: line, message: "second TYPE line for \(name)") }
        let i = familyIndex(name)
        guard families[i].samples.isEmpty else {
            throw PrometheusTextError(line: line, message: "TYPE line for \(name) after its samples")
        }
        families[i].type = type
    }

    /// Where a sample goes: a family index, `nil` to drop it (`_created`), or a new untyped family.
    private enum Placement {
        case family(Int)
        case drop
        case new
    }

    private func placement(of sample: Sample, line: Int) throws -> Placement {
        if let i = index[sample.name] {
            let f = families[i]
            switch f.type {
            case .histogram:
                throw PrometheusTextError(line: line, message: "sample \(sample.name) of histogram \(f.name) lacks a _bucket, _sum or _count suffix")
            case .summary where sample.labels["quantile"] == nil:
                throw PrometheusTextError(line: line, message: "sample \(sample.name) of summary \(f.name) lacks a quantile label")
            default:
                return .family(i)
            }
        }
        for suffix in ["_bucket", "_sum", "_count", "_total", "_created"] where sample.name.hasSuffix(suffix) {
            let base = String(sample.name.dropLast(suffix.count))
            if let i = index[base], typed.contains(base) {
                switch (families[i].type, suffix) {
                case (.histogram, "_bucket"):
                    guard let le = sample.labels["le"] else {
                        throw PrometheusTextError(line: line, message: "histogram bucket \(sample.name) lacks an le label")
                    }
                    guard let bound = PrometheusText.parseValue(le), !bound.isNaN else {
                        throw PrometheusTextError(line: line, message: "invalid le label \"\(le)\" on \(sample.name)")
                    }
                    return .family(i)
                case (.histogram, "_sum"), (.histogram, "_count"), (.summary, "_sum"), (.summary, "_count"), (.counter, "_total"):
                    return .family(i)
                case (.histogram, "_created"), (.summary, "_created"), (.counter, "_created"):
                    return .drop
                default:
                    break
                }
            }
            // `# TYPE x_total counter` with its OpenMetrics `x_created` series.
            if suffix == "_created", let i = index[base + "_total"], typed.contains(base + "_total"), families[i].type == .counter {
                return .drop
            }
        }
        return .new
    }

    mutating func add(_ sample: Sample, line: Int) throws {
        switch try placement(of: sample, line: line) {
        case .family(let i): families[i].samples.append(sample)
        case .drop: break
        case .new: families[familyIndex(sample.name)].samples.append(sample)
        }
    }

    /// The families in first-seen order, without the separate `x_created` gauge families that
    /// `prometheus_client` writes next to each counter, histogram and summary `x`.
    func finish() -> [MetricFamily] {
        families.filter { f in
            guard f.name.hasSuffix("_created") else { return true }
            let base = String(f.name.dropLast("_created".count))
            for candidate in [base, base + "_total"] {
                if let i = index[candidate], typed.contains(candidate) {
                    switch families[i].type {
                    case .counter, .histogram, .summary: return false
                    default: continue
                    }
                }
            }
            return true
        }
    }
}

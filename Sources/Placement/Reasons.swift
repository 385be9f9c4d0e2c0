import KubeAPI

/// The wording of decisions (one place, so the CLI, the controller's events and the simulator's log agree).
enum Reasons {
    /// `prefill +1 (h100-80gb), decode +2 (h20)` (signed) or `prefill 1 (h100-80gb), …`, roles in spec order.
    static func roles(_ counts: [String: Int], order: [String], types: [String: String], signed: Bool) -> String {
        let names = order.filter { counts[$0] != nil } + counts.keys.filter { !order.contains($0) }.sorted()
        return names.compactMap { name -> String? in
            guard let c = counts[name] else { return nil }
            let n = signed && c > 0 ? "+\(c)" : String(c)
            return types[name].map { "\(name) \(n) (\($0.isEmpty ? "unknown type" : $0))" } ?? "\(name) \(n)"
        }.joined(separator: ", ")
    }

    static func levelNoun(_ level: AffinityDomain) -> String {
        switch level {
        case .s1: "S1"
        case .s2: "S2"
        case .cluster: "cluster"
        }
    }

    /// Why the chosen candidate beat the next best: the first criterion that tells them apart.
    static func why(_ a: CandidateScore, _ b: CandidateScore?, level: AffinityDomain, candidates: Int) -> String {
        let of = candidates > 1 ? " (\(candidates) candidates)" : ""
        guard let b else {
            return level == .cluster ? "the cluster is the one domain of Cluster affinity" : "the only \(levelNoun(level)) with room\(of)"
        }
        if a.units != b.units { return "it holds the most whole P/D units (\(a.units), the next best \(b.units))\(of)" }
        if a.fallback != b.fallback { return "it gives the roles GPU types earlier in their preference lists (the next best falls back further)\(of)" }
        if a.high != b.high { return "it takes the least high-priority capacity (\(a.high) GPUs, the next best \(b.high))\(of)" }
        if a.medium != b.medium { return "it takes the least medium-priority capacity (\(a.medium) GPUs, the next best \(b.medium)) and no more high\(of)" }
        if a.opens != b.opens { return "growing the existing placement comes before opening a new one at equal cost\(of)" }
        if a.slack != b.slack { return "it fits tightest (\(a.slack) GPUs of its types left free, the next best \(b.slack))\(of)" }
        return "equal to the next best, and first in topology order\(of)"
    }
}

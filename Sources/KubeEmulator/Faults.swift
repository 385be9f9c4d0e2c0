import Foundation
import NIOCore
import YAML

/// A fault to inject into matching requests (tests of retries, backoff and relists).
public struct FaultRule: Sendable {
    public enum Action: Sendable {
        /// Answer with this status code and a matching Status body (409 Conflict, 410 Expired,
        /// 429 TooManyRequests with Retry-After, 500 InternalError, 503 ServiceUnavailable, ...).
        case fail(code: Int, retryAfterSeconds: Int? = nil)
        /// Answer normally, after this delay.
        case delay(Duration)
    }

    /// HTTP method to match (`GET`, `PUT`, ...); nil matches any.
    public var method: String?
    /// The request path (without query) must contain this; nil matches any.
    public var pathContains: String?
    /// Match only watch requests (true), only non-watch requests (false), or both (nil).
    public var watch: Bool?
    public var action: Action
    /// How many requests to affect; nil = until `clearFaults()`.
    public var count: Int?
    /// The chance (0–1) that a matching request is affected (random faults); a request spared is matched
    /// against the next rules, and does not use up `count`.
    public var probability: Double

    public init(method: String? = nil, pathContains: String? = nil, watch: Bool? = nil, action: Action, count: Int? = nil,
                probability: Double = 1) {
        self.method = method
        self.pathContains = pathContains
        self.watch = watch
        self.action = action
        self.count = count
        self.probability = probability
    }

    func matches(_ req: APIRequest) -> Bool {
        if let method, method.uppercased() != req.method { return false }
        if let pathContains, !req.path.contains(pathContains) { return false }
        if let watch, watch != (req.query["watch"] == "1" || req.query["watch"] == "true") { return false }
        return true
    }
}

enum FaultDecision {
    case none
    case fail(StatusError)
    case delay(TimeAmount)
}

extension StatusError {
    static func injected(code: Int, retryAfterSeconds: Int?) -> StatusError {
        let reason: String
        switch code {
        case 400: reason = "BadRequest"
        case 401: reason = "Unauthorized"
        case 403: reason = "Forbidden"
        case 404: reason = "NotFound"
        case 409: reason = "Conflict"
        case 410: reason = "Expired"
        case 422: reason = "Invalid"
        case 429: reason = "TooManyRequests"
        case 503: reason = "ServiceUnavailable"
        case 504: reason = "Timeout"
        default: reason = code >= 500 ? "InternalError" : "BadRequest"
        }
        var details = JSONObject()
        if let retryAfterSeconds { details["retryAfterSeconds"] = .int(Int64(retryAfterSeconds)) }
        return StatusError(code: code, reason: reason, message: "injected fault: \(reason)",
                           details: details.isEmpty ? nil : details)
    }
}

extension Engine {
    /// Counts the request, then consumes the first matching rule that fires (see `FaultRule.probability`).
    func fault(for req: APIRequest) -> FaultDecision {
        let decision = faults.withLock { rules -> FaultDecision in
            guard let i = rules.firstIndex(where: { $0.matches(req) && ($0.probability >= 1 || Double.random(in: 0..<1) < $0.probability) })
            else { return .none }
            let rule = rules[i]
            if let c = rule.count {
                if c <= 1 { rules.remove(at: i) } else { rules[i].count = c - 1 }
            }
            switch rule.action {
            case let .fail(code, retry): return .fail(.injected(code: code, retryAfterSeconds: retry))
            case let .delay(d):
                let ns = d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
                return .delay(.nanoseconds(ns))
            }
        }
        traffic.withLock { $0.record(req, decision) }
        return decision
    }
}

extension KubeEmulator {
    /// Adds a fault rule; rules are tried in the order added.
    public func injectFault(_ rule: FaultRule) { engine.faults.withLock { $0.append(rule) } }

    /// Removes every fault rule.
    public func clearFaults() { engine.faults.withLock { $0.removeAll() } }

    /// Ends every open watch stream cleanly (as an API server restart or a load balancer timeout would).
    public func closeAllWatches() {
        engine.state.withLock { s in
            for (id, w) in s.watchers {
                w.deliver([])
                s.watchers[id] = nil
            }
        }
    }
}

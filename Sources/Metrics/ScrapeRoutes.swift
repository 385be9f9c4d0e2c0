import Foundation
import KubeClient

/// The way one PodAutoscaler's pods are scraped: at their IPs, or through the API server's pod proxy.
public enum ScrapeRoute: String, Sendable, Hashable, CaseIterable {
    case direct
    case apiserver
}

extension MetricsCollector {
    /// What one collection says about how pods were reached (`--scrape-via`).
    public struct RouteReport: Sendable, Hashable {
        /// The route the pod scrapes took; `nil` when no pod was scraped, or `auto` has not decided yet.
        public var route: ScrapeRoute?
        /// Why this route, for the PodAutoscaler's status and the log.
        public var reason: String?
        /// Set on the one collection where `auto` decided: log it then, once.
        public var decided: Bool
        /// Set once when the pod scrapes going through the API server cross `Configuration.podProxyWarnRate`.
        public var loadWarning: String?

        public init(route: ScrapeRoute? = nil, reason: String? = nil, decided: Bool = false, loadWarning: String? = nil) {
            self.route = route
            self.reason = reason
            self.decided = decided
            self.loadWarning = loadWarning
        }
    }
}

/// `auto`'s remembered choices per PodAutoscaler, and an estimate of the requests the pod proxy puts on the API server.
struct ScrapeRoutes: Sendable {
    struct Choice: Sendable, Hashable {
        var route: ScrapeRoute
        var reason: String
    }

    private(set) var chosen: [String: Choice] = [:]
    /// Pod scrapes per second through the API server, per PodAutoscaler (scrapes of a collection / its interval).
    private(set) var proxiedRate: [String: Double] = [:]
    private var warned = false

    /// The route for `key`: fixed by the mode, or what `auto` chose; `nil` while `auto` has not decided.
    func route(for key: String, mode: ScrapeVia) -> Choice? {
        switch mode {
        case .direct: return Choice(route: .direct, reason: "--scrape-via direct")
        case .apiserver: return Choice(route: .apiserver, reason: "--scrape-via apiserver")
        case .auto: return chosen[key]
        }
    }

    mutating func choose(_ route: ScrapeRoute, reason: String, for key: String) { chosen[key] = Choice(route: route, reason: reason) }

    mutating func forget(key: String) {
        chosen[key] = nil
        proxiedRate[key] = nil
    }

    /// Records `proxied` scrapes through the API server for `key` over `interval` seconds, and returns a warning
    /// the first time the total crosses `threshold` requests/s (again only after it fell below half of it).
    mutating func recordLoad(key: String, proxied: Int, interval: Double?, threshold: Double) -> String? {
        if proxied == 0 {
            proxiedRate[key] = nil
        } else if let interval, interval > 0 {
            proxiedRate[key] = Double(proxied) / interval
        }
        let total = proxiedRate.values.reduce(0, +)
        if warned, total < threshold / 2 { warned = false }
        guard !warned, threshold > 0, total > threshold else { return nil }
        warned = true
        return "about \(Int(total.rounded())) pod scrapes per second go through the API server's pod proxy "
            + "(\(proxiedRate.count) PodAutoscalers), above \(String(format: "%g", threshold))/s: every one is an API request; run the "
            + "controller in-cluster with --scrape-via direct, or scrape less often (docs/metrics.md, \"Reaching pods\")"
    }
}

extension MetricsCollector {
    /// Runs the jobs of one collection along the route of `key`. `auto` without a choice scrapes directly; when
    /// no pod answered and every failure was a missing connection, it retries those scrapes through the pod proxy
    /// and, if a pod answers there, remembers `apiserver` for `key`; any pod answering directly fixes `direct`.
    /// Prometheus queries always go directly.
    func runRouted(key: String, jobs: [Job], wanted: Set<String>, now: Date) async -> ([Outcome], RouteReport) {
        let scrapes = jobs.indices.filter { jobs[$0].kind == .scrape }
        var report = RouteReport()
        var attempts: [Attempt]
        var choice = routes.route(for: key, mode: scrapeVia)
        if let choice {
            attempts = await run(jobs, wanted: wanted, route: choice.route)
        } else {
            attempts = await run(jobs, wanted: wanted, route: .direct)
            let direct = scrapes.map { attempts[$0] }
            if direct.contains(where: \.reached) {
                routes.choose(.direct, reason: "--scrape-via auto: pod IPs answer from the controller", for: key)
                report.decided = true
            } else if !direct.isEmpty, direct.allSatisfy(\.unreachable) {
                let proxied = await run(scrapes.map { jobs[$0] }, wanted: wanted, route: .apiserver)
                if proxied.contains(where: \.reached) {
                    let why = direct.first.map { Self.message($0.outcome) } ?? ""
                    routes.choose(.apiserver, reason: "--scrape-via auto: pod IPs do not answer from the controller (\(why))", for: key)
                    report.decided = true
                    for (n, i) in scrapes.enumerated() { attempts[i] = proxied[n] }
                } else {
                    // Neither way reached a pod: say both, and decide on a later collection.
                    for (n, i) in scrapes.enumerated() {
                        let viaProxy = Self.message(proxied[n].outcome).replacingOccurrences(of: "scrape failed: ", with: "")
                        attempts[i].outcome = .failed("\(Self.message(attempts[i].outcome)); through the API server's pod proxy: \(viaProxy)")
                    }
                }
            }
            choice = routes.route(for: key, mode: scrapeVia)
        }
        if !scrapes.isEmpty, let choice {
            report.route = choice.route
            report.reason = choice.reason
        }
        let proxied = report.route == .apiserver ? scrapes.count : 0
        report.loadWarning = routes.recordLoad(
            key: key, proxied: proxied, interval: lastCollect[key].map { now.timeIntervalSince($0) }, threshold: configuration.podProxyWarnRate)
        return (attempts.map(\.outcome), report)
    }

    private static func message(_ outcome: Outcome) -> String {
        if case .failed(let m) = outcome { return m }
        return ""
    }
}

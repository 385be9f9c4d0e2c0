import Autoscaling
import Foundation
import KubeClient

extension MetricsCollector {
    /// What the collector needs to know about one pod of the scale target.
    public struct PodInfo: Sendable, Hashable {
        public var name: String
        /// `status.podIP`; pods without one are not scraped.
        public var ip: String?
        /// The pod's `Ready` condition.
        public var ready: Bool
        public var phase: PodSample.Phase
        /// The DeploymentGroup role of the pod (P/D), if any.
        public var role: String?
        public var startTime: Date?
        public var readyTime: Date?

        public init(
            name: String, ip: String?, ready: Bool, phase: PodSample.Phase = .running, role: String? = nil,
            startTime: Date? = nil, readyTime: Date? = nil
        ) {
            self.name = name
            self.ip = ip
            self.ready = ready
            self.phase = phase
            self.role = role
            self.startTime = startTime
            self.readyTime = readyTime
        }

        /// Running and ready: the pods whose metrics are read.
        public var isObservable: Bool { phase == .running && ready }
    }

    public struct Configuration: Sendable {
        /// Whole-request timeout of one scrape or query, seconds.
        public var scrapeTimeout: Double
        /// Scrapes and queries in flight at once for one collection.
        public var maxConcurrentScrapes: Int
        /// TLS settings for `https` pod sources and Prometheus endpoints.
        public var tls: TLSOptions
        /// The quantile read from histogram metrics used as pod sources.
        public var histogramQuantile: Double
        /// How pods are reached (`--scrape-via`); `apiserver` and `auto` need the collector's `podProxy` client.
        public var scrapeVia: ScrapeVia
        /// Pod scrapes per second through the API server above which the collection carries a warning (once).
        public var podProxyWarnRate: Double

        public init(scrapeTimeout: Double = 3, maxConcurrentScrapes: Int = 16, tls: TLSOptions = .init(), histogramQuantile: Double = 0.9,
                    scrapeVia: ScrapeVia = .direct, podProxyWarnRate: Double = 100) {
            self.scrapeTimeout = scrapeTimeout
            self.maxConcurrentScrapes = maxConcurrentScrapes
            self.tls = tls
            self.histogramQuantile = histogramQuantile
            self.scrapeVia = scrapeVia
            self.podProxyWarnRate = podProxyWarnRate
        }
    }

    /// The result of one `collect`: a snapshot per metric source, derived signals, and what went wrong.
    public struct MetricsCollection: Sendable, Hashable {
        /// One entry per `spec.metricsSources` element, in order.
        public var sources: [SourceSnapshot]
        /// Keys from `Signal`; only the signals that could be computed.
        public var signals: [String: Double]
        public var failures: [ScrapeFailure]
        /// How the pods were reached, and whether `auto` just decided.
        public var route: RouteReport

        public init(sources: [SourceSnapshot] = [], signals: [String: Double] = [:], failures: [ScrapeFailure] = [],
                    route: RouteReport = RouteReport()) {
            self.sources = sources
            self.signals = signals
            self.failures = failures
            self.route = route
        }
    }

    /// A scrape or query that failed, or a metric a pod did not report.
    public struct ScrapeFailure: Sendable, Hashable, CustomStringConvertible {
        /// The pod concerned, if the failure is about one pod.
        public var pod: String?
        /// The index in `spec.metricsSources`, if the failure is about one source.
        public var sourceIndex: Int?
        public var message: String

        public init(pod: String?, sourceIndex: Int?, message: String) {
            self.pod = pod
            self.sourceIndex = sourceIndex
            self.message = message
        }

        public var description: String {
            var prefix = ""
            if let sourceIndex { prefix += "metricsSources[\(sourceIndex)]: " }
            if let pod { prefix += "pod \(pod): " }
            return prefix + message
        }
    }
}

/// `MetricsCollector.MetricsCollection`.
public typealias MetricsCollection = MetricsCollector.MetricsCollection
/// `MetricsCollector.ScrapeFailure`.
public typealias ScrapeFailure = MetricsCollector.ScrapeFailure

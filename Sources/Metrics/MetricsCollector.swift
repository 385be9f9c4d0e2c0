import Autoscaling
import Foundation
import KubeAPI
import KubeClient

/// Observes the metric sources of PodAutoscalers: scrapes pods (Prometheus text format) and runs Prometheus
/// instant queries, concurrently and bounded, and turns the results into `SourceSnapshot`s and `Signal`s.
///
/// A pod whose scrape failed, timed out, returned non-2xx or garbage, or lacks the metric has `value: nil`
/// (missing, never 0) and a `ScrapeFailure`. Counter and histogram state between collections is kept per
/// PodAutoscaler key; the clock is passed in.
public actor MetricsCollector {
    /// The `Accept` header of pod scrapes.
    public static let acceptHeader = "text/plain;version=0.0.4"

    private let transport: HTTPTransport
    /// The API client whose server, transport and credentials carry pod-proxy scrapes (`scrapeVia` apiserver/auto).
    let podProxy: RESTClient?
    public let configuration: Configuration
    private var tracker = RateTracker()
    var lastCollect: [String: Date] = [:]
    var routes = ScrapeRoutes()

    /// - Parameter podProxy: the API client for `configuration.scrapeVia` `apiserver` and `auto`; without one
    ///   every pod is scraped directly.
    public init(transport: HTTPTransport, configuration: Configuration = .init(), podProxy: RESTClient? = nil) {
        self.transport = transport
        self.configuration = configuration
        self.podProxy = podProxy
    }

    /// The mode in effect: `configuration.scrapeVia`, or `direct` without an API client for the pod proxy.
    public nonisolated var scrapeVia: ScrapeVia { podProxy == nil ? .direct : configuration.scrapeVia }

    /// Drops everything remembered for the PodAutoscaler `key` (it was deleted).
    public func forget(key: String) {
        tracker.forget(collector: key)
        lastCollect[key] = nil
        routes.forget(key: key)
    }

    /// The route `auto` chose for `key`, if it has (diagnostics and tests).
    public func chosenRoute(key: String) -> ScrapeRoute? { routes.chosen[key]?.route }

    /// The pods whose counter or histogram baselines are remembered for `key` (diagnostics and tests).
    public func trackedPods(key: String) -> Set<String> { tracker.pods(collector: key) }

    /// Observes every metric source of `spec` for the PodAutoscaler identified by `key` ("ns/name"), over
    /// `pods` (all pods of the target, any phase), and derives the signals from the same scrapes.
    public func collect(
        key: String, spec: PodAutoscalerSpec, namespace: String, selector: String, pods: [PodInfo], now: Date
    ) async -> MetricsCollection {
        let sources = spec.metricsSources ?? []
        var failures: [ScrapeFailure] = []
        var jobs = JobList()

        // Pod sources: one endpoint each; one scrape per distinct URL.
        var endpoints: [(index: Int, endpoint: ScrapeEndpoint)] = []
        for (i, s) in sources.enumerated() where s.metricSourceType == MetricSourceType.pod.rawValue {
            switch ScrapeEndpoint.of(s) {
            case .success(let e): endpoints.append((i, e))
            case .failure(let e): failures.append(ScrapeFailure(pod: nil, sourceIndex: i, message: e.message))
            }
        }
        var sourceURL: [Int: [String: String]] = [:]
        for (i, endpoint) in endpoints {
            for pod in pods where pod.isObservable && sources[i].measures(role: pod.role) {
                guard let ip = pod.ip, !ip.isEmpty else { continue }
                let url = endpoint.url(ip: ip)
                sourceURL[i, default: [:]][pod.name] = url
                jobs.add(.scrape, url: url, pod: pod.name, sourceIndex: i, proxyPath: endpoint.proxyPath(namespace: namespace, pod: pod.name))
            }
        }
        // Signals read every observable pod once: the endpoint of a source of its role, else the first one.
        // Only the strategies that use them get them (deriving them costs more than parsing the scrapes).
        let wantsSignals = ObservationPipeline.wantsSignals(spec)
        var signalURL: [String: String] = [:]
        for pod in pods where pod.isObservable && wantsSignals {
            guard let ip = pod.ip, !ip.isEmpty,
                let endpoint = (endpoints.first { sources[$0.index].measures(role: pod.role) } ?? endpoints.first)?.endpoint
            else { continue }
            let url = endpoint.url(ip: ip)
            signalURL[pod.name] = url
            jobs.add(.scrape, url: url, pod: pod.name, sourceIndex: nil, proxyPath: endpoint.proxyPath(namespace: namespace, pod: pod.name))
        }
        // Prometheus sources: one query, or one per observable pod when the template uses {{pod}}.
        var queryURL: [Int: [String?: String]] = [:]
        for (i, s) in sources.enumerated() where s.metricSourceType == MetricSourceType.prometheus.rawValue {
            guard let endpoint = s.endpoint, !endpoint.isEmpty, let template = s.query, !template.isEmpty else {
                failures.append(ScrapeFailure(pod: nil, sourceIndex: i, message: "a prometheus source needs both endpoint and query"))
                continue
            }
            let targets: [String?] = PrometheusQuery.isPerPod(template)
                ? pods.filter { $0.isObservable && s.measures(role: $0.role) }.map(\.name) : [nil]
            for pod in targets {
                let query = PrometheusQuery.render(template, namespace: namespace, selector: selector, pod: pod)
                let url = PrometheusQuery.url(endpoint: endpoint, query: query)
                queryURL[i, default: [:]][pod] = url
                jobs.add(.query, url: url, pod: pod, sourceIndex: i)
            }
        }

        let planned = jobs
        // Parse only what this PodAutoscaler reads.
        let wanted = ObservationPipeline.wantedMetrics(spec)
        let (outcomes, route) = await runRouted(key: key, jobs: planned.jobs, wanted: wanted, now: now)
        for (job, outcome) in zip(planned.jobs, outcomes) {
            if case .failed(let message) = outcome {
                failures.append(ScrapeFailure(pod: job.pod, sourceIndex: job.sourceIndex, message: message))
            }
        }
        func outcome(_ url: String?) -> Outcome? { url.flatMap { planned.index[$0] }.map { outcomes[$0] } }
        let configured = Set(endpoints.map(\.index))

        // Everything below runs without suspension, so the tracker state stays consistent.
        var last = lastCollect[key]
        var collection = ObservationPipeline.collect(
            key: key, spec: spec, pods: pods,
            read: { source, pod in
                let url: String?
                if let source {
                    guard configured.contains(source), pod.isObservable else { return nil }
                    guard let u = sourceURL[source]?[pod.name] else { return .noAddress }
                    url = u
                } else {
                    guard let u = signalURL[pod.name] else { return nil }
                    url = u
                }
                guard let url, case .metrics(let set)? = outcome(url) else { return .failed }
                return .metrics(set, endpoint: url)
            },
            prometheus: { i, rolePods, snapshot, failures in
                guard let urls = queryURL[i] else {
                    snapshot.pods = rolePods.map { ObservationPipeline.sample($0, nil) }
                    return
                }
                if urls.keys.contains(nil) {
                    snapshot.total = Self.queryValue(outcome(urls[nil] ?? nil), pod: nil, source: i, failures: &failures)
                } else {
                    snapshot.pods = rolePods.map { pod in
                        guard let url = urls[pod.name] else { return ObservationPipeline.sample(pod, nil) }
                        return ObservationPipeline.sample(pod, Self.queryValue(outcome(url), pod: pod.name, source: i, failures: &failures))
                    }
                }
            },
            failures: failures, tracker: &tracker, lastCollect: &last, now: now, quantile: configuration.histogramQuantile)
        lastCollect[key] = last
        collection.route = route
        return collection
    }

    /// The sum of a query's values; `nil` (and a failure) for an empty result or a non-finite sum.
    private static func queryValue(_ outcome: Outcome?, pod: String?, source: Int, failures: inout [ScrapeFailure]) -> Double? {
        guard case .values(let values)? = outcome else { return nil }
        guard !values.isEmpty else {
            failures.append(ScrapeFailure(pod: pod, sourceIndex: source, message: "the query returned no series"))
            return nil
        }
        let sum = values.reduce(0, +)
        if let problem = SampleSanity.problem(sum, metric: "") {
            failures.append(ScrapeFailure(pod: pod, sourceIndex: source, message: "the query's result \(problem); treated as missing"))
            return nil
        }
        return sum
    }

    // MARK: - Running the requests

    enum Outcome: Sendable {
        case metrics(MetricSet)
        case values([Double])
        case failed(String)
    }

    struct Job: Sendable {
        enum Kind: Sendable { case scrape, query }
        var kind: Kind
        var url: String
        var pod: String?
        var sourceIndex: Int?
        /// The pod proxy path of a scrape (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/PATH`).
        var proxyPath: String?
    }

    /// Requests deduplicated by URL; a job keeps the lowest source index that needs it.
    struct JobList: Sendable {
        var jobs: [Job] = []
        var index: [String: Int] = [:]

        mutating func add(_ kind: Job.Kind, url: String, pod: String?, sourceIndex: Int?, proxyPath: String? = nil) {
            if let i = index[url] {
                if let s = sourceIndex, jobs[i].sourceIndex.map({ s < $0 }) ?? true { jobs[i].sourceIndex = s }
                return
            }
            index[url] = jobs.count
            jobs.append(Job(kind: kind, url: url, pod: pod, sourceIndex: sourceIndex, proxyPath: proxyPath))
        }
    }

    /// One request's outcome, and for scrapes whether the pod answered at all.
    struct Attempt: Sendable {
        var outcome: Outcome
        /// The pod (or Prometheus) answered, whatever it said.
        var reached = false
        /// No connection (refused, no route, timed out): the address may not be routed here.
        var unreachable = false
    }

    /// Runs `jobs` (`route` for the scrapes: direct, or through the API server's pod proxy).
    func run(_ jobs: [Job], wanted: Set<String>, route: ScrapeRoute = .direct) async -> [Attempt] {
        let transport = self.transport, configuration = self.configuration, proxy = route == .apiserver ? podProxy : nil
        let work: [@Sendable () async -> Attempt] = jobs.map { job in
            { await Self.perform(job, transport: transport, proxy: proxy, configuration: configuration, wanted: wanted) }
        }
        let results = await HTTPFetch.runBounded(work, limit: configuration.maxConcurrentScrapes)
        return results.map { $0 ?? Attempt(outcome: .failed("the request did not run")) }
    }

    private static func perform(_ job: Job, transport: HTTPTransport, proxy: RESTClient?, configuration: Configuration,
                                wanted: Set<String>) async -> Attempt {
        switch job.kind {
        case .scrape:
            let fetched: Result<[UInt8], FetchError>
            if let proxy, let path = job.proxyPath {
                fetched = await HTTPFetch.getThroughAPIServer(proxy, path: path, accept: acceptHeader, timeout: configuration.scrapeTimeout)
            } else {
                fetched = await HTTPFetch.get(
                    transport, url: job.url, accept: acceptHeader, timeout: configuration.scrapeTimeout, tls: configuration.tls)
            }
            switch fetched {
            case .failure(let e): return Attempt(outcome: .failed("scrape failed: \(e.message)"), reached: e.reached, unreachable: e.unreachable)
            case .success(let body):
                do { return Attempt(outcome: .metrics(MetricSet(try PrometheusText.parse(body, only: wanted))), reached: true) } catch {
                    return Attempt(outcome: .failed("scrape of \(HTTPFetch.redacted(job.url)) is not valid Prometheus text: \(error)"), reached: true)
                }
            }
        case .query:
            return Attempt(outcome: await query(job, transport: transport, configuration: configuration))
        }
    }

    private static func query(_ job: Job, transport: HTTPTransport, configuration: Configuration) async -> Outcome {
        switch job.kind {
        case .scrape:
            return .failed("not a query")
        case .query:
            let fetched = await HTTPFetch.get(
                transport, url: job.url, accept: "application/json", timeout: configuration.scrapeTimeout, tls: configuration.tls)
            switch fetched {
            case .failure(let e):
                // Prometheus answers 400/422/503 with a JSON error body worth showing.
                if let body = e.body, case .failure(let q) = PrometheusQuery.parseResponse(body), q.message.hasPrefix("Prometheus") {
                    return .failed("query failed (HTTP \(e.status ?? 0)): \(q.message)")
                }
                return .failed("query failed: \(e.message)")
            case .success(let body):
                switch PrometheusQuery.parseResponse(body) {
                case .success(let values): return .values(values)
                case .failure(let e): return .failed("query \(HTTPFetch.redacted(job.url)) failed: \(e.message)")
                }
            }
        }
    }
}

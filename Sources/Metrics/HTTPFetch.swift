import Foundation
import KubeClient
import YAML

/// GETs with a per-request timeout, run with bounded concurrency.
enum HTTPFetch {
    /// The body of a 2xx response, or a message saying why there is none.
    static func get(_ transport: HTTPTransport, url: String, accept: String, timeout: Double, tls: TLSOptions) async -> Result<[UInt8], FetchError> {
        let url = url, shown = redacted(url)
        var headers = HTTPHeaders()
        headers.add("Accept", accept)
        let request = HTTPRequest(method: "GET", url: url, headers: headers, timeout: timeout, connectTimeout: min(timeout, 10), tls: tls)
        do {
            let response = try await transport.send(request)
            guard (200..<300).contains(response.status) else {
                return .failure(FetchError(message: "GET \(shown) returned HTTP \(response.status)", status: response.status, body: response.body,
                                           reached: true))
            }
            return .success(response.body)
        } catch is CancellationError {
            return .failure(FetchError(message: "GET \(shown) was cancelled"))
        } catch let error as TransportError {
            return .failure(FetchError(message: error.description.replacingOccurrences(of: url, with: shown), unreachable: isUnreachable(error)))
        } catch {
            return .failure(FetchError(message: "GET \(shown) failed: \("\(error)".replacingOccurrences(of: url, with: shown))"))
        }
    }

    /// A GET through the API server (`path` below its URL, e.g. a pod proxy path) with the API client's
    /// transport and credentials; a 401 refreshes the credentials and retries once, as `RESTClient.send` does.
    /// `reached` is set when the answer came from the pod (not a `Status` of the API server, such as 503
    /// `error trying to reach service: ...` or 403 for a missing `get pods/proxy`).
    static func getThroughAPIServer(_ client: RESTClient, path: String, accept: String, timeout: Double) async -> Result<[UInt8], FetchError> {
        let shown = "\(client.config.server)\(path)"
        do {
            func once() async throws -> HTTPResponse {
                var request = try await client.makeRequest(method: "GET", path: path, accept: accept, timeout: timeout)
                request.connectTimeout = min(timeout, 10)
                return try await client.transport.send(request)
            }
            var response = try await once()
            if response.status == 401, await client.config.credentials.invalidate() { response = try await once() }
            if (200..<300).contains(response.status) { return .success(response.body) }
            if PodProxy.isAPIServerStatus(response), let status = try? JSONValue.parseJSON(response.body) {
                let message = status["message"]?.stringValue ?? ""
                return .failure(FetchError(
                    message: "GET \(shown): the API server answered \(response.status) \(status["reason"]?.stringValue ?? ""): \(message)",
                    status: response.status, body: response.body))
            }
            return .failure(FetchError(message: "GET \(shown) returned HTTP \(response.status) (from the pod, through the API server)",
                                       status: response.status, body: response.body, reached: true))
        } catch is CancellationError {
            return .failure(FetchError(message: "GET \(shown) was cancelled"))
        } catch {
            return .failure(FetchError(message: "GET \(shown) failed: \(error)"))
        }
    }

    /// Errors that mean the address does not answer from here: refused, no route, timed out, unknown host.
    static func isUnreachable(_ error: TransportError) -> Bool {
        switch error {
        case .connectionRefused, .timedOut, .couldNotResolve: return true
        default: return false
        }
    }

    /// The URL without any `user:password@` part, for messages that reach events and logs.
    static func redacted(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<scheme.upperBound]) + String(rest[rest.index(after: at)...])
    }

    /// Runs `jobs` with at most `limit` in flight and returns their results in order.
    static func runBounded<T: Sendable>(_ jobs: [@Sendable () async -> T], limit: Int) async -> [T?] {
        var results = [T?](repeating: nil, count: jobs.count)
        guard !jobs.isEmpty else { return results }
        await withTaskGroup(of: (Int, T).self) { group in
            var next = 0
            func start() {
                let i = next, job = jobs[i]
                next += 1
                group.addTask { (i, await job()) }
            }
            while next < min(max(1, limit), jobs.count) { start() }
            while let (i, value) = await group.next() {
                results[i] = value
                if next < jobs.count { start() }
            }
        }
        return results
    }
}

struct FetchError: Error, Sendable {
    var message: String
    var status: Int?
    var body: [UInt8]?
    /// The server addressed (the pod, for scrapes) answered, with an error status.
    var reached: Bool
    /// No connection: refused, no route, timed out, unknown host.
    var unreachable: Bool
    init(message: String, status: Int? = nil, body: [UInt8]? = nil, reached: Bool = false, unreachable: Bool = false) {
        self.message = message
        self.status = status
        self.body = body
        self.reached = reached
        self.unreachable = unreachable
    }
}

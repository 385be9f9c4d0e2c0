import Foundation
import KubeClient

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
                return .failure(FetchError(message: "GET \(shown) returned HTTP \(response.status)", status: response.status, body: response.body))
            }
            return .success(response.body)
        } catch is CancellationError {
            return .failure(FetchError(message: "GET \(shown) was cancelled"))
        } catch let error as TransportError {
            return .failure(FetchError(message: error.description.replacingOccurrences(of: url, with: shown)))
        } catch {
            return .failure(FetchError(message: "GET \(shown) failed: \("\(error)".replacingOccurrences(of: url, with: shown))"))
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
    init(message: String, status: Int? = nil, body: [UInt8]? = nil) {
        self.message = message
        self.status = status
        self.body = body
    }
}

import YAML

/// The verbs on any resource, unstructured (`JSONValue`, unknown fields kept) or typed (Codable).
/// Every non-2xx answer throws `KubeAPIError` decoded from the server's `Status`.
extension RESTClient {
    public func get(_ r: GroupVersionResource, namespace: String? = nil, name: String, subresource: String? = nil) async throws -> JSONValue {
        try await json(path: r.path(namespace: namespace, name: name, subresource: subresource))
    }

    /// One page of a list; `metadata.continue` names the next.
    public func list(_ r: GroupVersionResource, namespace: String? = nil, options: ListOptions = ListOptions()) async throws -> JSONValue {
        try await json(path: withQuery(r.path(namespace: namespace), options.queryItems(watch: false)))
    }

    /// Every page of a list, following `continue`; returns the items and the resourceVersion of the list.
    /// A continue token that expired (410) restarts the list from the beginning once, like client-go's pager.
    public func listAll(_ r: GroupVersionResource, namespace: String? = nil, options: ListOptions = ListOptions(),
                        pageSize: Int = 500) async throws -> (items: [JSONValue], resourceVersion: String) {
        var opts = options
        opts.limit = pageSize
        var items: [JSONValue] = []
        var restarted = false
        while true {
            let page: JSONValue
            do {
                page = try await list(r, namespace: namespace, options: opts)
            } catch let e as KubeAPIError where e.isGone && opts.continueToken != nil && !restarted {
                restarted = true
                items = []
                opts.continueToken = nil
                opts.resourceVersion = nil
                continue
            }
            items += page["items"]?.arrayValue ?? []
            let token = page["metadata"]?["continue"]?.stringValue ?? ""
            if token.isEmpty {
                return (items, page["metadata"]?["resourceVersion"]?.stringValue ?? "")
            }
            opts.continueToken = token
            // The continue token pins the version; resourceVersion must not be sent with it.
            opts.resourceVersion = nil
            opts.resourceVersionMatch = nil
        }
    }

    public func create(_ r: GroupVersionResource, namespace: String? = nil, _ object: JSONValue, subresource: String? = nil) async throws -> JSONValue {
        try await json(method: "POST", path: r.path(namespace: namespace, subresource: subresource), body: object)
    }

    /// PUT. The object's `metadata.resourceVersion` is the precondition: a stale one throws a 409 Conflict.
    public func update(_ r: GroupVersionResource, namespace: String? = nil, _ object: JSONValue, subresource: String? = nil) async throws -> JSONValue {
        guard let name = object["metadata"]?["name"]?.stringValue else {
            throw TransportError.invalidRequest("update of \(r) needs metadata.name")
        }
        return try await json(method: "PUT", path: r.path(namespace: namespace, name: name, subresource: subresource), body: object)
    }

    public func patch(_ r: GroupVersionResource, namespace: String? = nil, name: String, type: PatchType, _ patch: JSONValue,
                      subresource: String? = nil) async throws -> JSONValue {
        var path = r.path(namespace: namespace, name: name, subresource: subresource)
        if case let .apply(manager, force) = type {
            path = withQuery(path, [("fieldManager", manager)] + (force ? [("force", "true")] : []))
        }
        // JSON is YAML, so the apply patch can be sent as JSON text.
        return try await json(method: "PATCH", path: path, body: patch, contentType: type.contentType)
    }

    @discardableResult
    public func delete(_ r: GroupVersionResource, namespace: String? = nil, name: String, options: DeleteOptions = DeleteOptions()) async throws -> JSONValue {
        try await json(method: "DELETE", path: r.path(namespace: namespace, name: name), body: options.body)
    }

    // MARK: - Typed

    public func get<T: Decodable>(_ type: T.Type, _ r: GroupVersionResource, namespace: String? = nil, name: String,
                                  subresource: String? = nil) async throws -> T {
        try await get(r, namespace: namespace, name: name, subresource: subresource).decode(T.self)
    }

    public func create<T: Codable>(_ r: GroupVersionResource, namespace: String? = nil, _ object: T) async throws -> T {
        try await create(r, namespace: namespace, JSONValue(encoding: object)).decode(T.self)
    }

    public func update<T: Codable>(_ r: GroupVersionResource, namespace: String? = nil, _ object: T, subresource: String? = nil) async throws -> T {
        try await update(r, namespace: namespace, JSONValue(encoding: object), subresource: subresource).decode(T.self)
    }

    // MARK: - Watch

    /// Opens a watch and yields its events as they arrive (never buffering the whole response).
    /// The stream ends when the server closes the watch (e.g. at `timeoutSeconds`); an `ERROR` event is
    /// delivered as `.error(status)` — `status.isExpired` signals 410, i.e. re-list.
    /// `opened` is called once the server has accepted the watch (HTTP 200), before any event: an idle watch
    /// is healthy even while no event arrives.
    public func watch(_ r: GroupVersionResource, namespace: String? = nil, options: ListOptions,
                      opened: (@Sendable () -> Void)? = nil) -> AsyncThrowingStream<WatchEvent, any Error> {
        let path = withQuery(r.path(namespace: namespace), options.queryItems(watch: true))
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let request = try await makeRequest(method: "GET", path: path, timeout: nil)
                    var response = try await transport.stream(request)
                    if response.status == 401, await config.credentials.invalidate() {
                        response.cancel()
                        response = try await transport.stream(try await makeRequest(method: "GET", path: path, timeout: nil))
                    }
                    guard response.status == 200 else {
                        let body = try await response.collect(limit: 1 << 20)
                        throw KubeAPIError(response: HTTPResponse(status: response.status, headers: response.headers, body: body), method: "GET", path: path)
                    }
                    opened?()
                    for try await line in response.lines() where !line.isEmpty {
                        continuation.yield(try WatchEvent(json: line))
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// One event of a watch stream.
public enum WatchEvent: Sendable, Equatable {
    case added(JSONValue)
    case modified(JSONValue)
    case deleted(JSONValue)
    /// Only `metadata.resourceVersion` is meaningful.
    case bookmark(resourceVersion: String)
    case error(WatchStatus)

    /// Decodes one line of a watch response.
    public init(json line: [UInt8]) throws {
        let v = try JSONValue.parseJSON(line)
        guard let type = v["type"]?.stringValue, let object = v["object"] else {
            throw TransportError.invalidRequest("malformed watch event: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        switch type {
        case "ADDED": self = .added(object)
        case "MODIFIED": self = .modified(object)
        case "DELETED": self = .deleted(object)
        case "BOOKMARK": self = .bookmark(resourceVersion: object["metadata"]?["resourceVersion"]?.stringValue ?? "")
        case "ERROR":
            self = .error(WatchStatus(
                code: object["code"]?.intValue.map(Int.init) ?? 500,
                reason: object["reason"]?.stringValue ?? "",
                message: object["message"]?.stringValue ?? ""))
        default:
            throw TransportError.invalidRequest("unknown watch event type \(type)")
        }
    }

    /// The object's resourceVersion (the bookmark's for bookmarks).
    public var resourceVersion: String? {
        switch self {
        case .added(let o), .modified(let o), .deleted(let o): return o["metadata"]?["resourceVersion"]?.stringValue
        case .bookmark(let rv): return rv
        case .error: return nil
        }
    }
}

/// The `Status` carried by a watch `ERROR` event.
public struct WatchStatus: Sendable, Equatable, CustomStringConvertible {
    public var code: Int
    public var reason: String
    public var message: String
    /// 410 Gone / Expired: the requested resourceVersion is too old; the watcher must re-list.
    public var isExpired: Bool { code == 410 || reason == "Expired" || reason == "Gone" }
    public var description: String { "\(code) \(reason): \(message)" }
}

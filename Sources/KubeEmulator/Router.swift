import Foundation
import Synchronization
import YAML

/// One decoded HTTP request.
struct APIRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var accept: String
    var contentType: String
    var body: [UInt8]
    /// The request target as sent (path and query, still percent-encoded): the pod proxy forwards its tail.
    var rawURI: String

    init(method: String, uri: String, accept: String, contentType: String, body: [UInt8]) {
        self.method = method
        rawURI = uri
        self.accept = accept
        self.contentType = contentType
        self.body = body
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        var q: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let k = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let raw = kv.count > 1 ? String(kv[1]).replacingOccurrences(of: "+", with: " ") : ""
                q[k] = raw.removingPercentEncoding ?? raw
            }
        }
        query = q
    }

    var wantsTable: Bool { accept.contains("as=Table") }
    var dryRun: Bool { query["dryRun"] == "All" }
    /// The `fieldValidation` directive; kube-apiserver's default (no parameter) is Warn.
    var fieldValidation: FieldValidation { query["fieldValidation"].flatMap(FieldValidation.init(rawValue:)) ?? .warn }
}

/// A watch the HTTP layer must stream.
struct WatchPlan: Sendable {
    var filter: WatchFilter
    var resourceVersion: String?
    var bookmarks: Bool
    var timeoutSeconds: Int?
    var table: Bool
}

enum APIResponse: Sendable {
    /// A JSON answer, with `Warning` headers (`299 - "text"`) for the texts in `warnings`.
    case json(Int, JSONValue, warnings: [String] = [])
    case watch(WatchPlan)
    /// Forward to a pod (the pods/proxy subresource, PodProxy.swift).
    case proxy(PodProxyPlan)
}

extension RequestContext.Source {
    /// A request body as the decoder sees it: the kind and version the object declares.
    static func declared(by body: JSONValue) -> Self {
        let apiVersion = body["apiVersion"]?.stringValue ?? ""
        let version = apiVersion.split(separator: "/").last.map(String.init) ?? ""
        return .body(kind: body["kind"]?.stringValue ?? "", version: version)
    }
}

/// The request router and the state it guards.
final class Engine: Sendable {
    let state: Mutex<StoreState>
    let address: Mutex<String>
    let faults = Mutex<[FaultRule]>([])
    /// Requests received, for tests that bound a client's retries (see `Traffic.swift`).
    let traffic = Mutex<TrafficLog>(TrafficLog())
    /// Where the pod proxy dials a pod IP (`KubeEmulator.Configuration.podNetwork`).
    let podNetwork: @Sendable (String) -> String

    init(historyLimit: Int, now: @escaping @Sendable () -> Date, podNetwork: @escaping @Sendable (String) -> String = { $0 }) {
        self.podNetwork = podNetwork

        var s = StoreState(historyLimit: historyLimit, now: now)
        let nsDef = s.defs[0]
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            _ = try? s.create(nsDef, nil, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]],
                              dryRun: false)
        }
        state = Mutex(s)
        address = Mutex("127.0.0.1:0")
    }

    /// Wires the delayed-work hook (kubelet readiness, namespace termination) and the options.
    func configure(kubelet: KubeletOptions?, namespaceTerminationDelay: Duration) {
        let schedule: @Sendable (Duration, @escaping @Sendable (inout StoreState) -> Void) -> Void = { [weak self] delay, work in
            guard let engine = self else { return }
            let nanos = delay.components.seconds * 1_000_000_000 + delay.components.attoseconds / 1_000_000_000
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanos))) {
                engine.state.withLock { work(&$0) }
            }
        }
        state.withLock {
            $0.kubelet = kubelet
            $0.schedule = schedule
            $0.namespaceTerminationDelay = namespaceTerminationDelay
        }
    }

    func handle(_ req: APIRequest) -> APIResponse {
        do {
            return try route(req)
        } catch {
            return .json(error.code, error.status)
        }
    }

    private func route(_ req: APIRequest) throws(StatusError) -> APIResponse {
        let segs = req.path.split(separator: "/").map(String.init)
        guard let first = segs.first else {
            return .json(200, ["paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"]])
        }
        switch first {
        case "version": return .json(200, Discovery.version())
        case "healthz", "readyz", "livez": return .json(200, "ok")
        case "openapi":
            let defs = state.withLock { $0.defs }
            guard segs.count >= 2, segs[1] == "v3" else { throw StatusError.pathNotFound }
            if segs.count == 2 { return .json(200, Discovery.openAPIV3Root(defs)) }
            let gv = segs[2] == "api" ? segs.dropFirst(3).joined(separator: "/") : segs.dropFirst(3).joined(separator: "/")
            guard let doc = Discovery.openAPIV3GroupVersion(defs, groupVersion: gv) else { throw StatusError.pathNotFound }
            return .json(200, doc)
        case "api":
            if segs.count == 1 { return .json(200, Discovery.coreVersions(address: address.withLock { $0 })) }
            guard segs[1] == "v1" else { throw StatusError.pathNotFound }
            if segs.count == 2 {
                return .json(200, state.withLock { Discovery.resourceList($0.defs, groupVersion: "v1") }!)
            }
            return try resource(req, groupVersion: "v1", rest: Array(segs[2...]))
        case "apis":
            let defs = state.withLock { $0.defs }
            if segs.count == 1 { return .json(200, Discovery.groupList(defs)) }
            if segs.count == 2 {
                guard let g = Discovery.groups(defs).first(where: { $0.0 == segs[1] }) else { throw StatusError.pathNotFound }
                return .json(200, Discovery.group(g.0, g.1))
            }
            let gv = "\(segs[1])/\(segs[2])"
            if segs.count == 3 {
                guard let list = Discovery.resourceList(defs, groupVersion: gv) else { throw StatusError.pathNotFound }
                return .json(200, list)
            }
            return try resource(req, groupVersion: gv, rest: Array(segs[3...]))
        default:
            throw StatusError.pathNotFound
        }
    }

    private func resource(_ req: APIRequest, groupVersion: String, rest: [String]) throws(StatusError) -> APIResponse {
        var ns: String?
        var r = rest[...]
        if r.count >= 3 && r[r.startIndex] == "namespaces" && !["status", "finalize"].contains(r[r.startIndex + 2]) {
            ns = r[r.startIndex + 1]
            r = r.dropFirst(2)
        }
        let plural = r[r.startIndex]
        let name = r.count > 1 ? r[r.startIndex + 1] : nil
        let sub = r.count > 2 ? r[r.startIndex + 2] : nil
        if groupVersion == "v1", plural == "pods", let name, sub == "proxy", ns != nil,
           let def = state.withLock({ $0.def(groupVersion: groupVersion, plural: plural) }) {
            return try podProxy(req, namespace: ns, id: name, def: def)
        }
        guard r.count <= 3, let def = state.withLock({ $0.def(groupVersion: groupVersion, plural: plural) }) else {
            throw StatusError.pathNotFound
        }
        if !def.namespaced && ns != nil { throw StatusError.pathNotFound }
        if let sub {
            guard (sub == "status" && def.hasStatus) || (sub == "scale" && def.scale != nil) else {
                throw StatusError.pathNotFound
            }
        }
        if !req.body.isEmpty && req.contentType.contains("protobuf") {
            throw StatusError.unsupportedMediaType(req.contentType)
        }
        if def.kind == "SelfSubjectAccessReview" {
            guard req.method == "POST", name == nil else { throw StatusError.methodNotAllowed(req.method) }
            // Not stored: every access is allowed (the emulator has no authorization).
            var review = try parseBody(req)
            review["apiVersion"] = .string(def.groupVersion)
            review["kind"] = .string(def.kind)
            review["metadata"] = ["creationTimestamp": .null]
            review["status"] = ["allowed": true, "reason": "the KubeEmulator allows every request"]
            return .json(201, review)
        }
        let labels: LabelSelector?
        do { labels = try req.query["labelSelector"].map { try LabelSelector(parsing: $0) } } catch {
            throw StatusError.badRequest("unable to parse requirement: \(req.query["labelSelector"] ?? "")")
        }
        let fields = req.query["fieldSelector"].map { FieldSelector(parsing: $0) }
        let dry = req.dryRun

        switch (req.method, name) {
        case ("GET", nil):
            if req.query["watch"] == "1" || req.query["watch"] == "true" {
                return .watch(WatchPlan(
                    filter: WatchFilter(def: def, namespace: ns, labels: labels, fields: fields),
                    resourceVersion: req.query["resourceVersion"],
                    bookmarks: req.query["allowWatchBookmarks"] == "true",
                    timeoutSeconds: req.query["timeoutSeconds"].flatMap { Int($0) }, table: req.wantsTable))
            }
            let limit = req.query["limit"].flatMap { Int($0) }
            let list = try state.withLock { s throws(StatusError) in
                try s.list(def, ns, labels: labels, fields: fields, limit: limit, continueToken: req.query["continue"])
            }
            return .json(200, req.wantsTable ? Table.render(def, list: list, now: now()) : list)
        case ("GET", let name?):
            let obj = try state.withLock { s throws(StatusError) in try s.get(def, ns, name) }
            if sub == "scale" { return .json(200, state.withLock { $0.scale(def, obj) }) }
            return .json(200, req.wantsTable && sub == nil ? Table.render(def, objects: [obj], listMeta: nil, now: now()) : obj)
        case ("POST", nil):
            let body = try parseBody(req)
            let (created, warnings) = try write(req, .declared(by: body)) { s throws(StatusError) in
                try s.create(def, ns, body, dryRun: dry)
            }
            return .json(201, created, warnings: warnings)
        case ("PUT", let name?):
            let body = try parseBody(req)
            let (out, warnings) = try write(req, .declared(by: body)) { s throws(StatusError) in
                sub == "scale" ? try s.updateScale(def, ns, name, body, dryRun: dry)
                    : try s.update(def, ns, name, body, subresource: sub, dryRun: dry)
            }
            return .json(200, out, warnings: warnings)
        case ("PATCH", let name?):
            var created = false
            let (out, warnings) = try write(req, .patch("")) { s throws(StatusError) in
                created = s.object(def, ns, name) == nil
                return try s.patch(def, ns, name, contentType: req.contentType, body: req.body, subresource: sub, dryRun: dry)
            }
            return .json(created ? 201 : 200, out, warnings: warnings)
        case ("DELETE", let name?):
            guard sub == nil else { throw StatusError.methodNotAllowed(req.method) }
            var options = req.body.isEmpty ? nil : try? JSONValue.parseJSON(req.body)
            if let policy = req.query["propagationPolicy"] {
                options = options ?? .object([:])
                options?["propagationPolicy"] = .string(policy)
            }
            let out = try state.withLock { s throws(StatusError) in try s.delete(def, ns, name, options: options, dryRun: dry) }
            return .json(200, out)
        case ("DELETE", nil):
            let out = try state.withLock { s throws(StatusError) in
                try s.deleteCollection(def, ns, labels: labels, fields: fields, dryRun: dry)
            }
            return .json(200, out)
        default:
            throw StatusError.methodNotAllowed(req.method)
        }
    }

    /// Runs one write with the request's field-validation context, and returns its result and warnings.
    private func write<T>(_ req: APIRequest, _ source: RequestContext.Source,
                          _ body: (inout StoreState) throws(StatusError) -> T) throws(StatusError) -> (T, [String]) {
        try state.withLock { s throws(StatusError) in
            s.request = RequestContext(fieldValidation: req.fieldValidation, source: source)
            defer { s.request = RequestContext() }
            let out = try body(&s)
            return (out, s.request.warnings)
        }
    }

    private func parseBody(_ req: APIRequest) throws(StatusError) -> JSONValue {
        do {
            if req.contentType.contains("yaml") { return try YAML.load(req.body) }
            return try JSONValue.parseJSON(req.body)
        } catch {
            throw StatusError.badRequest("the body of the request could not be decoded: \(error)")
        }
    }

    func now() -> Date { state.withLock { $0.now() } }
}

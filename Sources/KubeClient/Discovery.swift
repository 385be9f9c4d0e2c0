import YAML

/// Resolves `{apiVersion, kind}` (as in `scaleTargetRef`) to the resource to call, through the API's
/// discovery documents (`/api/v1`, `/apis/G/V`), cached per group version. A kind the cache does not know is
/// looked up again (CRDs appear at run time).
public actor Discovery {
    public struct ResourceInfo: Sendable, Hashable {
        public var resource: GroupVersionResource
        public var kind: String
        public var verbs: [String]
        public var shortNames: [String]
        /// Subresources served, e.g. `["scale", "status"]`.
        public var subresources: [String]
    }

    private let client: RESTClient
    private var cache: [String: [ResourceInfo]] = [:]

    public init(client: RESTClient) { self.client = client }

    /// The resource for a kind in a group version. Throws `KubeAPIError` (404) when the group version or the
    /// kind is not served.
    public func resolve(apiVersion: String, kind: String) async throws -> ResourceInfo {
        if let hit = cache[apiVersion]?.first(where: { $0.kind == kind }) { return hit }
        let infos = try await fetch(apiVersion)
        cache[apiVersion] = infos
        guard let info = infos.first(where: { $0.kind == kind }) else {
            throw KubeAPIError(reason: "NotFound", code: 404, message: "no resource of kind \(kind) in \(apiVersion)",
                               method: "GET", path: Self.path(apiVersion))
        }
        return info
    }

    /// Every resource of a group version (top-level resources only; subresources are attached to them).
    public func resources(apiVersion: String) async throws -> [ResourceInfo] {
        if let hit = cache[apiVersion] { return hit }
        let infos = try await fetch(apiVersion)
        cache[apiVersion] = infos
        return infos
    }

    public func invalidate() { cache = [:] }

    static func path(_ apiVersion: String) -> String {
        apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
    }

    private func fetch(_ apiVersion: String) async throws -> [ResourceInfo] {
        let list = try await client.json(path: Self.path(apiVersion))
        let parts = apiVersion.split(separator: "/", maxSplits: 1).map(String.init)
        let group = parts.count == 2 ? parts[0] : ""
        let version = parts.last ?? apiVersion
        let entries = list["resources"]?.arrayValue ?? []
        var subresources: [String: [String]] = [:]
        for e in entries {
            guard let name = e["name"]?.stringValue, let slash = name.firstIndex(of: "/") else { continue }
            subresources[String(name[..<slash]), default: []].append(String(name[name.index(after: slash)...]))
        }
        return entries.compactMap { e -> ResourceInfo? in
            guard let name = e["name"]?.stringValue, !name.contains("/"), let kind = e["kind"]?.stringValue else { return nil }
            return ResourceInfo(
                resource: GroupVersionResource(group: group, version: version, resource: name, namespaced: e["namespaced"]?.boolValue ?? true),
                kind: kind,
                verbs: (e["verbs"]?.arrayValue ?? []).compactMap(\.stringValue),
                shortNames: (e["shortNames"]?.arrayValue ?? []).compactMap(\.stringValue),
                subresources: subresources[name] ?? [])
        }
    }
}

/// Runs `body` again when it fails with 409 Conflict (re-read, re-apply, write), like client-go's
/// `retry.RetryOnConflict` with `DefaultRetry`: up to `attempts` tries, `delay` apart.
public func retryOnConflict<T: Sendable>(attempts: Int = 5, delay: Duration = .milliseconds(10),
                                         _ body: @Sendable () async throws -> T) async throws -> T {
    var attempt = 1
    while true {
        do {
            return try await body()
        } catch let e as KubeAPIError where e.isConflict && attempt < attempts {
            attempt += 1
            try await Task.sleep(for: delay)
        }
    }
}

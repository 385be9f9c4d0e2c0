import Foundation
import YAML

/// A resource of the API: `deployments` in `apps/v1`, `pods` in the core group (`group` empty).
public struct GroupVersionResource: Hashable, Sendable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var resource: String
    /// Whether objects live in namespaces (resolved by discovery, or known for built-ins).
    public var namespaced: Bool

    public init(group: String, version: String, resource: String, namespaced: Bool = true) {
        self.group = group
        self.version = version
        self.resource = resource
        self.namespaced = namespaced
    }

    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var description: String { group.isEmpty ? "\(resource) (\(version))" : "\(resource).\(group) (\(version))" }

    /// The collection path (`/api/v1/namespaces/ns/pods`), the object path with `name`, and a subresource.
    public func path(namespace: String? = nil, name: String? = nil, subresource: String? = nil) -> String {
        var p = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if namespaced, let namespace, !namespace.isEmpty { p += "/namespaces/\(Self.escape(namespace))" }
        p += "/\(resource)"
        if let name { p += "/\(Self.escape(name))" }
        if let subresource { p += "/\(subresource)" }
        return p
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? segment
    }

    // Built-ins the controller uses.
    public static let pods = GroupVersionResource(group: "", version: "v1", resource: "pods")
    public static let nodes = GroupVersionResource(group: "", version: "v1", resource: "nodes", namespaced: false)
    public static let namespaces = GroupVersionResource(group: "", version: "v1", resource: "namespaces", namespaced: false)
    public static let events = GroupVersionResource(group: "events.k8s.io", version: "v1", resource: "events")
    public static let coreEvents = GroupVersionResource(group: "", version: "v1", resource: "events")
    public static let leases = GroupVersionResource(group: "coordination.k8s.io", version: "v1", resource: "leases")
    public static let deployments = GroupVersionResource(group: "apps", version: "v1", resource: "deployments")
    public static let statefulSets = GroupVersionResource(group: "apps", version: "v1", resource: "statefulsets")
    public static let podAutoscalers = GroupVersionResource(group: "heteroscale.io", version: "v1alpha1", resource: "podautoscalers")
    public static let deploymentGroups = GroupVersionResource(group: "heteroscale.io", version: "v1alpha1", resource: "deploymentgroups")
}

/// Options of list and watch calls (metav1.ListOptions).
public struct ListOptions: Sendable, Hashable {
    public var labelSelector: String?
    public var fieldSelector: String?
    public var limit: Int?
    public var continueToken: String?
    public var resourceVersion: String?
    /// `Exact` or `NotOlderThan`.
    public var resourceVersionMatch: String?
    public var timeoutSeconds: Int?
    public var allowWatchBookmarks: Bool

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil,
                resourceVersion: String? = nil, resourceVersionMatch: String? = nil, timeoutSeconds: Int? = nil,
                allowWatchBookmarks: Bool = false) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.resourceVersion = resourceVersion
        self.resourceVersionMatch = resourceVersionMatch
        self.timeoutSeconds = timeoutSeconds
        self.allowWatchBookmarks = allowWatchBookmarks
    }

    func queryItems(watch: Bool) -> [(String, String)] {
        var q: [(String, String)] = []
        if watch { q.append(("watch", "1")) }
        if let labelSelector, !labelSelector.isEmpty { q.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { q.append(("fieldSelector", fieldSelector)) }
        if let limit, !watch { q.append(("limit", String(limit))) }
        if let continueToken, !watch { q.append(("continue", continueToken)) }
        if let resourceVersion { q.append(("resourceVersion", resourceVersion)) }
        if let resourceVersionMatch, !watch { q.append(("resourceVersionMatch", resourceVersionMatch)) }
        if let timeoutSeconds { q.append(("timeoutSeconds", String(timeoutSeconds))) }
        if watch && allowWatchBookmarks { q.append(("allowWatchBookmarks", "true")) }
        return q
    }
}

/// How to patch (the Content-Type of a PATCH).
public enum PatchType: Sendable, Hashable {
    case merge
    case json
    case strategicMerge
    /// Server-side apply with a field manager; `force` takes over conflicting fields.
    case apply(fieldManager: String, force: Bool)

    public var contentType: String {
        switch self {
        case .merge: return "application/merge-patch+json"
        case .json: return "application/json-patch+json"
        case .strategicMerge: return "application/strategic-merge-patch+json"
        case .apply: return "application/apply-patch+yaml"
        }
    }
}

/// Options of a delete (metav1.DeleteOptions).
public struct DeleteOptions: Sendable, Hashable {
    /// `Orphan`, `Background` or `Foreground`.
    public var propagationPolicy: String?
    public var preconditionUID: String?
    public var preconditionResourceVersion: String?
    public var gracePeriodSeconds: Int?
    public init(propagationPolicy: String? = nil, preconditionUID: String? = nil, preconditionResourceVersion: String? = nil, gracePeriodSeconds: Int? = nil) {
        self.propagationPolicy = propagationPolicy
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
        self.gracePeriodSeconds = gracePeriodSeconds
    }

    var body: JSONValue {
        var o: JSONValue = ["apiVersion": "v1", "kind": "DeleteOptions"]
        if let propagationPolicy { o["propagationPolicy"] = .string(propagationPolicy) }
        if let gracePeriodSeconds { o["gracePeriodSeconds"] = .int(Int64(gracePeriodSeconds)) }
        if preconditionUID != nil || preconditionResourceVersion != nil {
            var pre: JSONValue = [:]
            if let preconditionUID { pre["uid"] = .string(preconditionUID) }
            if let preconditionResourceVersion { pre["resourceVersion"] = .string(preconditionResourceVersion) }
            o["preconditions"] = pre
        }
        return o
    }
}

/// Builds `path?query` with each value percent-encoded.
func withQuery(_ path: String, _ items: [(String, String)]) -> String {
    guard !items.isEmpty else { return path }
    var allowed = CharacterSet.urlQueryAllowed
    allowed.remove(charactersIn: "&=+?#")
    let q = items.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }
    return path + "?" + q.joined(separator: "&")
}

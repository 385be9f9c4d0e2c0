import Foundation
import KubeAPI
import YAML

/// A thread-safe cache of objects of one resource, keyed by namespace/name, with indexes by namespace, by
/// owner UID (for "which pods belong to this ReplicaSet", "which children does this group own") and by label
/// (for "which pods does this selector pick", without scanning the namespace).
public final class ObjectStore: @unchecked Sendable {
    private let lock = NSLock()
    private var objects: [ObjectKey: JSONValue] = [:]
    private var byNamespace: [String: Set<ObjectKey>] = [:]
    private var byOwner: [String: Set<ObjectKey>] = [:]
    /// `namespace/key=value` → objects with that label.
    private var byLabel: [String: Set<ObjectKey>] = [:]
    private var changes: UInt64 = 0

    public init() {}

    public static func key(of object: JSONValue) -> ObjectKey? {
        guard let name = object["metadata"]?["name"]?.stringValue else { return nil }
        return ObjectKey(namespace: object["metadata"]?["namespace"]?.stringValue ?? "", name: name)
    }

    public func get(_ key: ObjectKey) -> JSONValue? { lock.withLock { objects[key] } }
    /// Bumped by every change: a cheap way for readers to know that something derived from the store is stale.
    public var generation: UInt64 { lock.withLock { changes } }
    public var count: Int { lock.withLock { objects.count } }
    public var keys: [ObjectKey] { lock.withLock { Array(objects.keys) } }
    public func list() -> [JSONValue] { lock.withLock { Array(objects.values) } }

    public func list(namespace: String) -> [JSONValue] {
        lock.withLock { (byNamespace[namespace] ?? []).compactMap { objects[$0] } }
    }

    /// Objects of `namespace` whose labels satisfy `selector`. An equality requirement narrows the candidates
    /// through the label index first, so the cost follows the matching objects, not the namespace.
    public func list(namespace: String, matching selector: LabelSelectorExpression) -> [JSONValue] {
        lock.withLock {
            var candidates: Set<ObjectKey>? = nil
            for case let .equals(k, v) in selector.requirements {
                let keys = byLabel["\(namespace)/\(k)=\(v)"] ?? []
                candidates = candidates.map { $0.intersection(keys) } ?? keys
                if candidates?.isEmpty == true { return [] }
            }
            return (candidates ?? byNamespace[namespace] ?? []).compactMap { key in
                guard let o = objects[key] else { return nil }
                return selector.matches(o["metadata"]?["labels"]?.objectValue ?? JSONObject()) ? o : nil
            }
        }
    }

    /// Objects whose `metadata.ownerReferences` name `uid`.
    public func owned(by uid: String) -> [JSONValue] {
        lock.withLock { (byOwner[uid] ?? []).compactMap { objects[$0] } }
    }

    /// Inserts or replaces; returns the previous object.
    @discardableResult
    public func upsert(_ object: JSONValue) -> JSONValue? {
        guard let key = Self.key(of: object) else { return nil }
        return lock.withLock {
            let old = objects[key]
            changes &+= 1
            if let old { unindex(key, old) }
            objects[key] = object
            index(key, object)
            return old
        }
    }

    @discardableResult
    public func remove(_ key: ObjectKey) -> JSONValue? {
        lock.withLock {
            guard let old = objects.removeValue(forKey: key) else { return nil }
            changes &+= 1
            unindex(key, old)
            return old
        }
    }

    /// Replaces everything (after a LIST); returns what was there before.
    public func replace(with items: [JSONValue]) -> [ObjectKey: JSONValue] {
        lock.withLock {
            let old = objects
            changes &+= 1
            objects = [:]
            byNamespace = [:]
            byOwner = [:]
            byLabel = [:]
            for item in items {
                guard let key = Self.key(of: item) else { continue }
                objects[key] = item
                index(key, item)
            }
            return old
        }
    }

    private func owners(_ o: JSONValue) -> [String] {
        (o["metadata"]?["ownerReferences"]?.arrayValue ?? []).compactMap { $0["uid"]?.stringValue }
    }

    private func labelKeys(_ key: ObjectKey, _ o: JSONValue) -> [String] {
        (o["metadata"]?["labels"]?.objectValue ?? JSONObject()).compactMap { e in
            e.value.stringValue.map { "\(key.namespace)/\(e.key)=\($0)" }
        }
    }

    private func index(_ key: ObjectKey, _ o: JSONValue) {
        byNamespace[key.namespace, default: []].insert(key)
        for uid in owners(o) { byOwner[uid, default: []].insert(key) }
        for l in labelKeys(key, o) { byLabel[l, default: []].insert(key) }
    }

    private func unindex(_ key: ObjectKey, _ o: JSONValue) {
        byNamespace[key.namespace]?.remove(key)
        if byNamespace[key.namespace]?.isEmpty == true { byNamespace[key.namespace] = nil }
        for uid in owners(o) {
            byOwner[uid]?.remove(key)
            if byOwner[uid]?.isEmpty == true { byOwner[uid] = nil }
        }
        for l in labelKeys(key, o) {
            byLabel[l]?.remove(key)
            if byLabel[l]?.isEmpty == true { byLabel[l] = nil }
        }
    }
}

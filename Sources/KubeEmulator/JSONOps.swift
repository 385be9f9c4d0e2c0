import Foundation
import YAML

/// Patch and path operations on JSON values.
enum JSONOps {
    // MARK: simple dotted paths (`.spec.replicas`, `.status.conditions[0].type`)

    static func components(_ path: String) -> [PathComponent] {
        var out: [PathComponent] = []
        var p = Substring(path)
        if p.hasPrefix("{") && p.hasSuffix("}") { p = p.dropFirst().dropLast() }
        for part in p.split(separator: ".", omittingEmptySubsequences: true) {
            var s = part
            var key = s
            if let b = s.firstIndex(of: "[") {
                key = s[..<b]
                s = s[b...]
            } else {
                s = ""
            }
            if !key.isEmpty { out.append(.key(String(key))) }
            while s.hasPrefix("["), let close = s.firstIndex(of: "]") {
                let inner = s[s.index(after: s.startIndex)..<close]
                if let i = Int(inner) { out.append(.index(i)) } else { out.append(.key(String(inner).trimmingQuotes)) }
                s = s[s.index(after: close)...]
            }
        }
        return out
    }

    enum PathComponent { case key(String), index(Int) }

    static func get(_ value: JSONValue, path: String) -> JSONValue? {
        var cur: JSONValue? = value
        for c in components(path) {
            switch c {
            case .key(let k): cur = cur?[k]
            case .index(let i):
                guard let a = cur?.arrayValue else { return nil }
                let idx = i < 0 ? a.count + i : i
                cur = a.indices.contains(idx) ? a[idx] : nil
            }
        }
        return cur
    }

    /// Sets an object path (keys only), creating intermediate objects.
    static func set(_ value: inout JSONValue, path: String, to newValue: JSONValue) {
        let keys = components(path).compactMap { c -> String? in if case .key(let k) = c { return k } else { return nil } }
        set(&value, keys: keys[...], to: newValue)
    }

    private static func set(_ value: inout JSONValue, keys: ArraySlice<String>, to newValue: JSONValue) {
        guard let first = keys.first else { value = newValue; return }
        var obj = value.objectValue ?? JSONObject()
        var child = obj[first] ?? .object(JSONObject())
        set(&child, keys: keys.dropFirst(), to: newValue)
        obj[first] = child
        value = .object(obj)
    }

    // MARK: RFC 7386 merge patch

    static func mergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        var t = target.objectValue ?? JSONObject()
        for e in p {
            if e.value.isNull { t[e.key] = nil } else { t[e.key] = mergePatch(t[e.key] ?? .null, e.value) }
        }
        return .object(t)
    }

    // MARK: strategic merge patch (subset)

    /// Merge patch, except that lists of objects are merged element-wise by a merge key (`name`, `type`,
    /// `containerPort`, …) when every element has it, `$patch: delete|replace` directives are honoured, and
    /// other `$`-directives (`$setElementOrder/…`, `$retainKeys`) are dropped.
    static func strategicMergePatch(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(let p) = patch else { return patch }
        if p["$patch"]?.stringValue == "replace" {
            var r = p
            r["$patch"] = nil
            return .object(r)
        }
        var t = target.objectValue ?? JSONObject()
        for e in p where !e.key.hasPrefix("$") {
            if e.key.hasPrefix("$deleteFromPrimitiveList/") { continue }
            if e.value.isNull { t[e.key] = nil; continue }
            if case .array(let pa) = e.value, case .array(let ta)? = t[e.key], let mk = mergeKey(pa, ta) {
                t[e.key] = .array(mergeLists(ta, pa, key: mk))
            } else {
                t[e.key] = strategicMergePatch(t[e.key] ?? .null, e.value)
            }
        }
        for e in p where e.key.hasPrefix("$deleteFromPrimitiveList/") {
            let field = String(e.key.dropFirst("$deleteFromPrimitiveList/".count))
            if case .array(let ta)? = t[field], let del = e.value.arrayValue {
                t[field] = .array(ta.filter { !del.contains($0) })
            }
        }
        return .object(t)
    }

    private static let mergeKeys = ["name", "type", "containerPort", "port", "mountPath", "devicePath", "ip", "topologyKey"]

    private static func mergeKey(_ patch: [JSONValue], _ target: [JSONValue]) -> String? {
        guard !patch.isEmpty, patch.allSatisfy({ $0.objectValue != nil }),
              target.allSatisfy({ $0.objectValue != nil }) else { return nil }
        return mergeKeys.first { k in patch.allSatisfy { $0[k] != nil } && target.allSatisfy { $0[k] != nil } }
    }

    private static func mergeLists(_ target: [JSONValue], _ patch: [JSONValue], key: String) -> [JSONValue] {
        var out = target
        for el in patch {
            let k = el[key]
            let idx = out.firstIndex { $0[key] == k }
            if el["$patch"]?.stringValue == "delete" {
                if let idx { out.remove(at: idx) }
            } else if let idx {
                out[idx] = strategicMergePatch(out[idx], el)
            } else {
                out.append(strategicMergePatch(.null, el))
            }
        }
        return out
    }

    // MARK: RFC 6902 JSON patch

    struct PatchError: Error { var message: String }

    static func jsonPatch(_ target: JSONValue, _ ops: JSONValue) throws -> JSONValue {
        guard let list = ops.arrayValue else { throw PatchError(message: "json patch must be an array") }
        var doc = target
        for op in list {
            guard let name = op["op"]?.stringValue, let path = op["path"]?.stringValue else {
                throw PatchError(message: "json patch operation needs op and path")
            }
            let ptr = try pointer(path)
            switch name {
            case "add": doc = try apply(doc, ptr[...], .add(try required(op, "value")))
            case "remove": doc = try apply(doc, ptr[...], .remove)
            case "replace": doc = try apply(doc, ptr[...], .replace(try required(op, "value")))
            case "test":
                guard resolve(doc, ptr) == (try required(op, "value")) else {
                    throw PatchError(message: "testing value \(path) failed")
                }
            case "move", "copy":
                guard let from = op["from"]?.stringValue else { throw PatchError(message: "\(name) needs from") }
                let fp = try pointer(from)
                guard let v = resolve(doc, fp) else { throw PatchError(message: "missing value at \(from)") }
                if name == "move" { doc = try apply(doc, fp[...], .remove) }
                doc = try apply(doc, ptr[...], .add(v))
            default: throw PatchError(message: "unknown json patch op \(name)")
            }
        }
        return doc
    }

    private enum Op { case add(JSONValue), remove, replace(JSONValue) }

    private static func required(_ op: JSONValue, _ key: String) throws -> JSONValue {
        guard let v = op[key] else { throw PatchError(message: "json patch operation needs \(key)") }
        return v
    }

    private static func pointer(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw PatchError(message: "invalid JSON pointer \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func resolve(_ doc: JSONValue, _ ptr: [String]) -> JSONValue? {
        var cur: JSONValue? = doc
        for p in ptr {
            if case .array(let a)? = cur { cur = Int(p).flatMap { a.indices.contains($0) ? a[$0] : nil } } else { cur = cur?[p] }
        }
        return cur
    }

    private static func apply(_ doc: JSONValue, _ ptr: ArraySlice<String>, _ op: Op) throws -> JSONValue {
        guard let head = ptr.first else {
            switch op {
            case .add(let v), .replace(let v): return v
            case .remove: throw PatchError(message: "cannot remove the root")
            }
        }
        let last = ptr.count == 1
        switch doc {
        case .object(var o):
            if last {
                switch op {
                case .add(let v): o[head] = v
                case .replace(let v):
                    guard o[head] != nil else { throw PatchError(message: "replace operation does not apply: doc is missing key: /\(head)") }
                    o[head] = v
                case .remove:
                    guard o[head] != nil else { throw PatchError(message: "remove operation does not apply: doc is missing key: /\(head)") }
                    o[head] = nil
                }
            } else {
                guard let child = o[head] else { throw PatchError(message: "doc is missing path: /\(ptr.joined(separator: "/"))") }
                o[head] = try apply(child, ptr.dropFirst(), op)
            }
            return .object(o)
        case .array(var a):
            if last, head == "-", case .add(let v) = op { a.append(v); return .array(a) }
            guard let i = Int(head), i >= 0, i <= a.count else { throw PatchError(message: "invalid array index \(head)") }
            if last {
                switch op {
                case .add(let v): a.insert(v, at: i)
                case .replace(let v):
                    guard i < a.count else { throw PatchError(message: "index out of range") }
                    a[i] = v
                case .remove:
                    guard i < a.count else { throw PatchError(message: "index out of range") }
                    a.remove(at: i)
                }
            } else {
                guard i < a.count else { throw PatchError(message: "index out of range") }
                a[i] = try apply(a[i], ptr.dropFirst(), op)
            }
            return .array(a)
        default:
            throw PatchError(message: "doc is missing path: /\(ptr.joined(separator: "/"))")
        }
    }
}

extension StringProtocol {
    var trimmingQuotes: String {
        var s = Substring(self)
        if s.hasPrefix("'") || s.hasPrefix("\"") { s = s.dropFirst() }
        if s.hasSuffix("'") || s.hasSuffix("\"") { s = s.dropLast() }
        return String(s)
    }
}

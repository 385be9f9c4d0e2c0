import KubeAPI
import YAML

/// Reading the engine's inputs from YAML text: node and pod lists as `kubectl get … -o yaml` writes them and
/// DeploymentGroup manifests. Errors name the source, the line and the field.
public enum PlacementInput {
    /// Nodes from a `List`/`NodeList` (its `items`), single `Node` documents, or a multi-document stream of both.
    public static func nodes(yaml text: String, source: String) throws -> [Node] {
        try objects(Node.self, kind: Node.kind, yaml: text, source: source, skipOthers: false)
    }

    /// Pods, read like `nodes` (`kubectl get pods -A -o yaml`).
    public static func pods(yaml text: String, source: String) throws -> [Pod] {
        try objects(Pod.self, kind: Pod.kind, yaml: text, source: source, skipOthers: false)
    }

    /// The DeploymentGroups of a manifest stream (other kinds, e.g. a PodAutoscaler next to the group, are
    /// skipped). At least one is required.
    public static func groups(yaml text: String, source: String) throws -> [DeploymentGroup] {
        let groups = try objects(DeploymentGroup.self, kind: DeploymentGroup.kind, yaml: text, source: source, skipOthers: true)
        guard !groups.isEmpty else { throw PlacementError("\(source): no DeploymentGroup in the file") }
        return groups
    }

    private struct Items<T: Decodable>: Decodable {
        var items: [T]?
    }

    private static func objects<T: Decodable>(_ type: T.Type, kind: String, yaml text: String, source: String, skipOthers: Bool) throws -> [T] {
        let docs: [YAMLDocument]
        do {
            docs = try YAML.loadDocuments(text)
        } catch {
            throw PlacementError("\(source): \(error)")
        }
        var out: [T] = []
        for doc in docs {
            guard case .object(let o) = doc.value else {
                if doc.value.isNull { continue }
                throw PlacementError("\(source): \(doc.start): expected a \(kind) or a List of them, found \(doc.value.typeDescription)")
            }
            let docKind = o["kind"]?.stringValue ?? ""
            do {
                if docKind == "List" || docKind == "\(kind)List" || (docKind.isEmpty && o["items"] != nil) {
                    for (i, item) in (o["items"]?.arrayValue ?? []).enumerated() {
                        let k = item["kind"]?.stringValue ?? kind
                        guard k == kind else {
                            if skipOthers { continue }
                            throw PlacementError("\(source): \(doc.mark(at: "items[\(i)]").map { "\($0): " } ?? "")items[\(i)]: a \(k) in a list of \(kind)s")
                        }
                    }
                    let all = try doc.decode(Items<JSONValue>.self).items ?? []
                    for (i, item) in all.enumerated() where (item["kind"]?.stringValue ?? kind) == kind {
                        do {
                            out.append(try item.decode(T.self))
                        } catch let e as DecodingError {
                            let path = "items[\(i)]" + (e.fieldPath.isEmpty ? "" : ".\(e.fieldPath)")
                            let mark = doc.mark(at: path) ?? doc.mark(at: "items[\(i)]")
                            throw PlacementError("\(source): \(mark.map { "\($0): " } ?? "")\(path): \(e.summary.dropPrefix(e.fieldPath))")
                        }
                    }
                } else if docKind == kind || (docKind.isEmpty && !skipOthers) {
                    out.append(try doc.decode(T.self))
                } else if !skipOthers {
                    throw PlacementError("\(source): \(doc.start): expected a \(kind), found a \(docKind.isEmpty ? "document without kind" : docKind)")
                }
            } catch let e as YAMLError {
                throw PlacementError("\(source): \(e)")
            }
        }
        return out
    }
}

extension String {
    /// `summary` without its leading `path: `.
    fileprivate func dropPrefix(_ path: String) -> String {
        guard !path.isEmpty, hasPrefix(path + ": ") else { return self }
        return String(dropFirst(path.count + 2))
    }
}

extension JSONValue {
    fileprivate var typeDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int, .double: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "a mapping"
        }
    }
}

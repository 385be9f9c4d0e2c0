import KubeAPI
import Testing
import YAML
@testable import KubeRuntime

@Suite struct ObjectStoreTests {
    static func pod(_ name: String, _ ns: String = "default", labels: [String: String]) -> JSONValue {
        var l = JSONObject()
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) { l[k] = .string(v) }
        return ["metadata": ["name": .string(name), "namespace": .string(ns), "labels": .object(l)]]
    }

    /// The label index gives the same answer as scanning, and follows updates, removals and re-lists.
    @Test(arguments: ["app=a", "app=a,tier=web", "app in (a,b)", "app=a,tier!=web", "!tier", "app=zzz", "tier"])
    func selectingThroughTheIndexMatchesAScan(_ selector: String) throws {
        let store = ObjectStore()
        var objects: [JSONValue] = []
        for i in 0..<60 {
            var labels: [String: String] = ["app": ["a", "b", "c"][i % 3]]
            if i % 2 == 0 { labels["tier"] = "web" }
            objects.append(Self.pod("p\(i)", i % 7 == 0 ? "other" : "default", labels: labels))
        }
        for o in objects { store.upsert(o) }
        store.upsert(Self.pod("p1", labels: ["app": "b"]))  // relabelled
        _ = store.remove(ObjectKey(namespace: "default", name: "p3"))
        let expression = try LabelSelectorExpression(parsing: selector)
        let expected = store.list(namespace: "default").filter { expression.matches($0["metadata"]?["labels"]?.objectValue ?? JSONObject()) }
        let names = { (xs: [JSONValue]) in Set(xs.compactMap { $0["metadata"]?["name"]?.stringValue }) }
        #expect(names(store.list(namespace: "default", matching: expression)) == names(expected))
        _ = store.replace(with: Array(objects.prefix(10)))
        let after = store.list(namespace: "default").filter { expression.matches($0["metadata"]?["labels"]?.objectValue ?? JSONObject()) }
        #expect(names(store.list(namespace: "default", matching: expression)) == names(after))
    }
}

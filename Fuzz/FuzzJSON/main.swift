import FuzzDriver
import YAML

/// The JSON codec: whatever parses serialises, and the serialisation parses back to the same value.
@_cdecl("FuzzJSON_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        guard let value = try? JSONValue.parseJSON(bytes) else { return }
        guard let out = try? value.jsonBytes() else { fatalError("a parsed value does not serialise") }
        guard let again = try? JSONValue.parseJSON(out) else { fatalError("a serialised value does not parse") }
        precondition(again == value || !value.isStructurallyFinite, "the round trip changed the value")
    }
}

extension JSONValue {
    /// NaN is not equal to itself; such values cannot come from JSON text, but stay on the safe side.
    var isStructurallyFinite: Bool {
        switch self {
        case .double(let d): return d.isFinite
        case .array(let a): return a.allSatisfy(\.isStructurallyFinite)
        case .object(let o): return o.entries.allSatisfy { $0.value.isStructurallyFinite }
        default: return true
        }
    }
}

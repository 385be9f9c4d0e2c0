import FuzzDriver
import YAML

/// The JSON codec (`JSONValue.parseJSON`, `jsonBytes`): malformed input throws, never traps; whatever parses
/// serialises (compact and pretty), and both serialisations parse back to the same value (`==` takes NaN as
/// equal to NaN and an integer as equal to the same double).
@_cdecl("FuzzJSON_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv) { bytes in
        guard let value = try? JSONValue.parseJSON(bytes) else { return }
        for pretty in [false, true] {
            guard let out = try? value.jsonBytes(pretty: pretty) else { fatalError("a parsed value does not serialise (pretty: \(pretty))") }
            guard let again = try? JSONValue.parseJSON(out) else {
                fatalError("a serialised value does not parse: \(String(decoding: out.prefix(200), as: UTF8.self))")
            }
            precondition(again == value, "the round trip changed the value (pretty: \(pretty))")
        }
    }
}

import Testing
import YAML

@Suite("JSONValue and JSON text")
struct JSONValueTests {
    @Test func objectEqualityIgnoresOrder() {
        let a: JSONValue = ["a": 1, "b": "x"]
        let b: JSONValue = ["b": "x", "a": 1]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a.objectValue?.keys == ["a", "b"])
        #expect(!identical(a, b))
    }

    @Test func largeObjectEquality() {
        var x = JSONObject()
        var y = JSONObject()
        for i in 0..<100 { x["k\(i)"] = .int(Int64(i)) }
        for i in (0..<100).reversed() { y["k\(i)"] = .int(Int64(i)) }
        #expect(x == y)
        y["k5"] = 6
        #expect(x != y)
    }

    @Test func numericEquality() {
        #expect(JSONValue.int(1) == .double(1.0))
        #expect(JSONValue.int(1).hashValue == JSONValue.double(1.0).hashValue)
        #expect(JSONValue.double(.nan) == .double(.nan))
        #expect(JSONValue.int(1) != .string("1"))
        #expect(JSONValue.double(2.5).intValue == nil)
        #expect(JSONValue.double(3).intValue == 3)
    }

    @Test func objectEditing() {
        var o: JSONObject = ["a": 1, "b": 2, "c": 3]
        o["b"] = 20
        o["d"] = 4
        o["a"] = nil
        #expect(o.keys == ["b", "c", "d"])
        #expect(o.removeValue(forKey: "c") == 3)
        #expect(o.keys == ["b", "d"])
        var v: JSONValue = ["spec": ["replicas": 1]]
        v["spec"]?["replicas"] = 5
        #expect(v.value(at: "spec.replicas") == 5)
    }

    @Test func paths() {
        let components: [JSONPathComponent] = [.key("metadata"), .key("annotations"), .key("a.b/c"), .index(2), .key("x")]
        let text = JSONPath.format(components)
        #expect(text == "metadata.annotations[\"a.b/c\"][2].x")
        #expect(JSONPath.parse(text) == components)
        #expect(JSONPath.format([.key("q\"uote\\")]) == "[\"q\\\"uote\\\\\"]")
        #expect(JSONPath.parse("[\"q\\\"uote\\\\\"]") == [.key("q\"uote\\")])
        #expect(JSONPath.parse("") == [])
        #expect(JSONPath.parse("[0][1]") == [.index(0), .index(1)])
        #expect(JSONPath.format([.key("")]) == "[\"\"]")
        for bad in ["a.", ".a", "a..b", "a[", "a[x]", "a[0", "a[\"x]", "a[0]b"] {
            #expect(JSONPath.parse(bad) == nil, "\(bad)")
        }
    }

    // MARK: JSON parsing

    @Test func parseAndSerializeRoundTrip() throws {
        let text = #"{"kind":"Pod","n":[1,-2,3.5,1e+20,true,false,null],"o":{"z":{},"a":[]},"s":"x\"y\\z\n"}"#
        let v = try JSONValue.parseJSON(text)
        #expect(try v.jsonString() == text)
        #expect(try JSONValue.parseJSON(v.jsonBytes()) == v)
        #expect(v["o"]?.objectValue?.keys == ["z", "a"])
    }

    @Test func randomTreesRoundTrip() throws {
        var rng = SplitMix64(seed: 7)
        var checked = 0
        for _ in 0..<2000 {
            let value = randomValue(using: &rng)
            guard let bytes = try? value.jsonBytes() else { continue }  // non-finite doubles
            #expect(identical(try JSONValue.parseJSON(bytes), value))
            #expect(identical(try JSONValue.parseJSON(value.jsonBytes(pretty: true)), value))
            checked += 1
        }
        #expect(checked > 1000)
    }

    @Test func keyOrderIsPreserved() throws {
        let text = #"{"zeta":1,"alpha":2,"mid":{"y":1,"x":2}}"#
        let v = try JSONValue.parseJSON(Array(text.utf8))
        #expect(v.objectValue?.keys == ["zeta", "alpha", "mid"])
        #expect(try v.jsonString() == text)
    }

    @Test func duplicateKeysLastWins() throws {
        let v = try JSONValue.parseJSON(#"{"a":1,"b":2,"a":3}"#)
        #expect(try v.jsonString() == #"{"a":3,"b":2}"#)
        var big = "{"
        for i in 0..<40 { big += "\"k\(i)\":\(i)," }
        big += "\"k3\":\"last\"}"
        let w = try JSONValue.parseJSON(big)
        #expect(w.objectValue?.count == 40)
        #expect(w["k3"] == "last")
        #expect(w.objectValue?.keys[3] == "k3")
    }

    @Test func escapes() throws {
        let v = try JSONValue.parseJSON(#""\ud83d\ude00 \u00e9 \u0041 \b\f\n\r\t \/ \\ \"""#)
        #expect(v == "😀 é A \u{8}\u{C}\n\r\t / \\ \"")
        // Unpaired surrogates become U+FFFD.
        #expect(try JSONValue.parseJSON(#""\ud800x""#) == "\u{FFFD}x")
        #expect(try JSONValue.parseJSON(#""\udc00""#) == "\u{FFFD}")
        #expect(try JSONValue.parseJSON(#""\ud800\u0041""#) == "\u{FFFD}A")
        // Writing escapes control characters only.
        let s: JSONValue = "a\u{1}\u{1F}\"\\\n\té😀/"
        #expect(try s.jsonString() == #""a\u0001\u001f\"\\\n\té😀/""#)
        #expect(try JSONValue.parseJSON(s.jsonString()) == s)
    }

    @Test func utf8Strings() throws {
        #expect(try JSONValue.parseJSON(#"["héllo", "日本語", "😀"]"#) == ["héllo", "日本語", "😀"])
        let invalid: [UInt8] = [0x22, 0xC3, 0x28, 0x22]
        let error = try #require(throws: JSONError.self) { try JSONValue.parseJSON(invalid) }
        #expect(error.message.contains("UTF-8"))
    }

    static let numberCases: [(String, JSONValue)] = [
        ("0", .int(0)),
        ("-0", .int(0)),
        ("42", .int(42)),
        ("-17", .int(-17)),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ("-9223372036854775809", .double(-9_223_372_036_854_775_808)),
        ("1.0", .double(1)),
        ("-0.0", .double(-0.0)),
        ("1e2", .double(100)),
        ("1E+2", .double(100)),
        ("123.456e-2", .double(1.23456)),
        ("1e-400", .double(0)),
        ("100000000000000000000000000000", .double(1e29)),
    ]

    @Test(arguments: numberCases)
    func numbers(_ text: String, _ expected: JSONValue) throws {
        #expect(identical(try JSONValue.parseJSON(text), expected))
    }

    /// The fast path for short decimals must agree with the standard library's correctly rounded parse.
    @Test func decimalParsingMatchesStandardLibrary() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...20, using: &rng)
            var text = Bool.random(using: &rng) ? "-" : ""
            text += String(Int.random(in: 1...9, using: &rng))
            for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &rng)) }
            if Bool.random(using: &rng) {
                let point = Int.random(in: 1...text.count, using: &rng)
                let index = text.index(text.startIndex, offsetBy: max(point, text.hasPrefix("-") ? 2 : 1))
                text.insert(contentsOf: index == text.endIndex ? ".0" : ".", at: index)
            }
            if Int.random(in: 0..<3, using: &rng) == 0 { text += "e\(Int.random(in: -30...30, using: &rng))" }
            let parsed = try JSONValue.parseJSON(text)
            guard case .double(let d) = parsed else { continue }
            #expect(d.bitPattern == Double(text)!.bitPattern, "\(text)")
        }
        for d in (0..<2000).map({ _ in Double(bitPattern: rng.next()) }) where d.isFinite {
            #expect(try JSONValue.parseJSON(JSONValue.double(d).jsonString()) == .double(d))
        }
    }

    @Test func doublesSerializeAsDoubles() throws {
        for d in [1.0, -0.0, 1e20, 0.1, 5e-324, 1.7976931348623157e308, 123456789.125] {
            let text = try JSONValue.double(d).jsonString()
            #expect(identical(try JSONValue.parseJSON(text), .double(d)), "\(text)")
        }
        #expect(try JSONValue.double(1).jsonString() == "1.0")
        #expect(try JSONValue.int(1).jsonString() == "1")
    }

    static let invalidJSON: [(String, String)] = [
        ("", "end of input"),
        ("   ", "end of input"),
        ("[1,]", "trailing comma"),
        (#"{"a":1,}"#, "trailing comma"),
        (#"{"a":1} x"#, "after the JSON value"),
        ("[1] [2]", "after the JSON value"),
        ("01", "leading zeros"),
        ("1.", "decimal point"),
        (".5", "expected a value"),
        ("+1", "expected a value"),
        ("-", "expected a digit"),
        ("1e", "exponent"),
        ("NaN", "expected a value"),
        ("Infinity", "expected a value"),
        ("1e400", "out of range"),
        ("-1e400", "out of range"),
        ("'a'", "expected a value"),
        (#""unterminated"#, "unterminated string"),
        ("\"a\u{1}b\"", "control character"),
        (#""\x""#, "invalid escape"),
        (#""\u12""#, "\\u escape"),
        (#""\u12G4""#, "hex digit"),
        ("tru", "expected 'true'"),
        ("nul", "expected 'null'"),
        (#"{"a" 1}"#, "expected ':'"),
        ("{a:1}", "expected a string key"),
        ("[1 2]", "expected ',' or ']'"),
        (#"{"a":1 "b":2}"#, "expected ',' or '}'"),
        ("[", "end of input"),
        ("/* c */ 1", "expected a value"),
    ]

    @Test(arguments: invalidJSON)
    func invalid(_ text: String, _ fragment: String) throws {
        let error = try #require(throws: JSONError.self) { try JSONValue.parseJSON(text) }
        #expect(error.message.contains(fragment), "\(error)")
        #expect(error.offset != nil)
    }

    @Test func errorPositions() throws {
        let error = try #require(throws: JSONError.self) { try JSONValue.parseJSON("{\n  \"a\": [1, 2,]\n}") }
        #expect(error.offset == 15)
        #expect(error.line == 2)
        #expect(error.column == 14)
        #expect(error.description == "line 2, column 14 (byte 15): trailing comma in array")
    }

    @Test func byteOrderMarkIsIgnored() throws {
        #expect(try JSONValue.parseJSON([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)) == [1])
    }

    @Test func depthLimit() throws {
        let deep = String(repeating: "[", count: 2000) + String(repeating: "]", count: 2000)
        let error = try #require(throws: JSONError.self) { try JSONValue.parseJSON(deep) }
        #expect(error.message.contains("nested deeper"))
        let ok = String(repeating: "[", count: 900) + String(repeating: "]", count: 900)
        #expect(try JSONValue.parseJSON(ok).arrayValue?.count == 1)
    }

    @Test func nonFiniteDoublesCannotBeWritten() throws {
        for d in [Double.nan, .infinity, -.infinity] {
            #expect(throws: JSONError.self) { try JSONValue.double(d).jsonBytes() }
        }
        let error = try #require(throws: JSONError.self) {
            try (["spec": ["values": [1, .double(.infinity)]]] as JSONValue).jsonString()
        }
        #expect(error.message.contains("spec.values[1]"))
        #expect(error.message.contains(".inf"))
    }

    @Test func prettyPrinting() throws {
        let v: JSONValue = ["a": [1, 2], "b": [:], "c": ["d": nil]]
        #expect(
            try v.jsonString(pretty: true) == """
                {
                  "a": [
                    1,
                    2
                  ],
                  "b": {},
                  "c": {
                    "d": null
                  }
                }
                """)
    }

    @Test func descriptionIsJSON() {
        let v: JSONValue = ["a": [1, "x"], "b": .double(.nan)]
        #expect(v.description == #"{"a":[1,"x"],"b":.nan}"#)
        #expect(JSONValue.string("q\"").description == #""q\"""#)
    }

    @Test func parsingIsFast() throws {
        var parts: [String] = []
        for i in 0..<20_000 {
            parts.append(#"{"type":"MODIFIED","object":{"metadata":{"name":"pod-\#(i)","labels":{"app":"web"}},"status":{"ready":true,"value":\#(Double(i) / 3)}}}"#)
        }
        let text = "[" + parts.joined(separator: ",") + "]"
        var count = 0
        let elapsed = try seconds { count = try JSONValue.parseJSON(text).arrayValue?.count ?? 0 }
        #expect(count == 20_000)
        #expect(elapsed < 5)
    }
}

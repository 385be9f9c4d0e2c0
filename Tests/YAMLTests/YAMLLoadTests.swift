import Testing
import YAML

struct ScalarCase: Sendable, CustomTestStringConvertible {
    let yaml: String
    let expected: JSONValue
    init(_ yaml: String, _ expected: JSONValue) {
        self.yaml = yaml
        self.expected = expected
    }
    var testDescription: String { "v: \(yaml)" }
}

@Suite("YAML scalars and structure")
struct YAMLLoadTests {
    static let scalarCases: [ScalarCase] = [
        // Quoted scalars are always strings.
        ScalarCase("\"1\"", "1"),
        ScalarCase("1", 1),
        ScalarCase("'true'", "true"),
        ScalarCase("true", true),
        ScalarCase("True", true),
        ScalarCase("FALSE", false),
        ScalarCase("tRue", "tRue"),
        // YAML 1.1 booleans stay strings under the 1.2 core schema.
        ScalarCase("yes", "yes"),
        ScalarCase("on", "on"),
        ScalarCase("no", "no"),
        ScalarCase("Off", "Off"),
        ScalarCase("y", "y"),
        // Nulls.
        ScalarCase("~", nil),
        ScalarCase("null", nil),
        ScalarCase("Null", nil),
        ScalarCase("NULL", nil),
        ScalarCase("", nil),
        ScalarCase("nULL", "nULL"),
        ScalarCase("''", ""),
        ScalarCase("\"null\"", "null"),
        // Integers.
        ScalarCase("0x1F", 31),
        ScalarCase("0o17", 15),
        ScalarCase("+12", 12),
        ScalarCase("-0", 0),
        ScalarCase("007", 7),
        ScalarCase("9223372036854775807", .int(.max)),
        ScalarCase("-9223372036854775808", .int(.min)),
        ScalarCase("9223372036854775808", .double(9_223_372_036_854_775_808)),
        ScalarCase("123456789012345678901234567890", .double(1.2345678901234568e29)),
        ScalarCase("0x10000000000000000", .double(18_446_744_073_709_551_616)),
        ScalarCase("1_000", "1_000"),
        ScalarCase("0b1", "0b1"),
        ScalarCase("0x", "0x"),
        ScalarCase("+0x1F", "+0x1F"),
        ScalarCase("0o8", "0o8"),
        ScalarCase("12abc", "12abc"),
        ScalarCase("1:30", "1:30"),
        // Floats.
        ScalarCase("1e3", .double(1000)),
        ScalarCase("1E3", .double(1000)),
        ScalarCase("1.5", .double(1.5)),
        ScalarCase(".5", .double(0.5)),
        ScalarCase("5.", .double(5)),
        ScalarCase("-1.5e-3", .double(-0.0015)),
        ScalarCase("+2.5E+2", .double(250)),
        ScalarCase("-0.0", .double(-0.0)),
        ScalarCase("1e400", .double(.infinity)),
        ScalarCase(".inf", .double(.infinity)),
        ScalarCase("-.Inf", .double(-.infinity)),
        ScalarCase("+.INF", .double(.infinity)),
        ScalarCase(".nan", .double(.nan)),
        ScalarCase(".NaN", .double(.nan)),
        ScalarCase(".NAN", .double(.nan)),
        ScalarCase("-.nan", "-.nan"),
        ScalarCase(".iNf", ".iNf"),
        ScalarCase(".", "."),
        ScalarCase("1.2.3", "1.2.3"),
        ScalarCase("1e", "1e"),
        ScalarCase("2024-01-01", "2024-01-01"),
        ScalarCase("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        // Strings.
        ScalarCase("hello world", "hello world"),
        ScalarCase("'it''s'", "it's"),
        ScalarCase("\"tab\\there \\\"q\\\" \\u00e9 \\x41 \\U0001F600\"", "tab\there \"q\" é A 😀"),
        ScalarCase("héllo wörld ✓ 😀", "héllo wörld ✓ 😀"),
        ScalarCase("a:b", "a:b"),
        ScalarCase("-x", "-x"),
        ScalarCase("plain # comment", "plain"),
        // Tags.
        ScalarCase("!!str 1", "1"),
        ScalarCase("!!str true", "true"),
        ScalarCase("!!str", ""),
        ScalarCase("!!int \"3\"", 3),
        ScalarCase("!!int '0x1F'", 31),
        ScalarCase("!!float 1", .double(1)),
        ScalarCase("!!float '1.5'", .double(1.5)),
        ScalarCase("!!bool \"true\"", true),
        ScalarCase("!!null ''", nil),
        ScalarCase("!!null", nil),
        ScalarCase("! 12", "12"),
        ScalarCase("!custom 12", 12),
        ScalarCase("!custom '12'", "12"),
        ScalarCase("!!binary aGVsbG8=", "aGVsbG8="),
        ScalarCase("!!timestamp 2001-12-14", "2001-12-14"),
        ScalarCase("!<tag:yaml.org,2002:str> 5", "5"),
    ]

    @Test(arguments: scalarCases)
    func scalar(_ c: ScalarCase) throws {
        let doc = try YAML.load("v: \(c.yaml)\n")
        let v = try #require(doc["v"])
        #expect(identical(v, c.expected), "got \(v)")
    }

    static let blockScalars: [(String, String)] = [
        ("v: |\n  a\n  b\n", "a\nb\n"),
        ("v: |\n  a\n  b\n\n\n", "a\nb\n"),
        ("v: |-\n  a\n  b\n\n", "a\nb"),
        ("v: |+\n  a\n\n\nw: 1\n", "a\n\n\n"),
        ("v: |+\n  a\n", "a\n"),
        ("v: |2\n    indented\n  not\n", "  indented\nnot\n"),
        ("v: |\n  line with trailing  \n  # not a comment\n", "line with trailing  \n# not a comment\n"),
        ("v: >\n  folded\n  text\n\n  para\n", "folded text\npara\n"),
        ("v: >-\n  a\n  b\n", "a b"),
        ("v: >+\n  a\n  b\n\nw: 1\n", "a b\n\n"),
        ("v: >\n  a\n    more indented\n  b\n", "a\n  more indented\nb\n"),
        ("v: \"folded\n  double\n\n  quoted\"\n", "folded double\nquoted"),
        ("v: plain\n  multi\n  line\n", "plain multi line"),
        ("v: |\n", ""),
    ]

    @Test(arguments: blockScalars)
    func blockScalar(_ yaml: String, _ expected: String) throws {
        let v = try YAML.load(yaml)["v"]
        #expect(v == .string(expected))
    }

    @Test func flowStyle() throws {
        let v = try YAML.load("{a: [1, 2], b: {c: 'x', d: [ ]}, e: {}}")
        #expect(identical(v, ["a": [1, 2], "b": ["c": "x", "d": []], "e": [:]]))
    }

    @Test func keyOrderIsKept() throws {
        let v = try YAML.load("zeta: 1\nalpha: 2\nmid: 3\n")
        #expect(v.objectValue?.keys == ["zeta", "alpha", "mid"])
    }

    @Test func nonStringKeysBecomeTheirText() throws {
        let v = try YAML.load("1: a\ntrue: b\nnull: c\n~: d\n1.50: e\n0x1F: f\n\"quoted\": g\n? explicit\n: h\n")
        #expect(v.objectValue?.keys == ["1", "true", "null", "~", "1.50", "0x1F", "quoted", "explicit"])
        #expect(v["1.50"] == "e")
    }

    @Test func largeMappingsFindDuplicates() throws {
        var text = ""
        for i in 0..<100 { text += "key\(i): \(i)\n" }
        let v = try YAML.load(text)
        #expect(v.objectValue?.count == 100)
        #expect(v["key99"] == 99)
        let error = try #require(throws: YAMLError.self) { try YAML.load(text + "key42: again\n") }
        #expect(error.mark == YAMLMark(line: 101, column: 1))
        #expect(error.message.contains("duplicate key \"key42\""))
        #expect(error.message.contains("line 43, column 1"))
    }

    @Test func anchorsAndAliases() throws {
        let v = try YAML.load(
            """
            base: &base
              image: nginx
              ports: [80, 443]
            copy: *base
            name: &n web
            names: [*n, *n]
            *n : aliased key
            """)
        #expect(identical(v["copy"]!, ["image": "nginx", "ports": [80, 443]]))
        #expect(identical(v["names"]!, ["web", "web"]))
        #expect(v["web"] == "aliased key")
    }

    @Test func anchorsCanBeRedefined() throws {
        let v = try YAML.load("a: &x 1\nb: *x\nc: &x 2\nd: *x\n")
        #expect(identical(v, ["a": 1, "b": 1, "c": 2, "d": 2]))
    }

    @Test func mergeKeys() throws {
        let v = try YAML.load(
            """
            defaults: &defaults
              adapter: postgres
              host: localhost
              port: 5432
            extra: &extra
              pool: 5
              host: db.internal
            single:
              <<: *defaults
              host: override
            list:
              name: both
              <<: [*extra, *defaults]
            inline:
              <<: {a: 1, b: 2}
              b: 3
            quoted:
              "<<": not a merge
            """)
        // Merged entries stand where `<<` stood; an explicit key keeps its own position.
        #expect(identical(v["single"]!, ["adapter": "postgres", "port": 5432, "host": "override"]))
        // Earlier mappings in the list win; merged keys appear where `<<` stood.
        #expect(identical(v["list"]!, ["name": "both", "pool": 5, "host": "db.internal", "adapter": "postgres", "port": 5432]))
        #expect(identical(v["inline"]!, ["a": 1, "b": 3]))
        #expect(identical(v["quoted"]!, ["<<": "not a merge"]))
    }

    @Test func mergeKeyErrors() throws {
        let e1 = try #require(throws: YAMLError.self) { try YAML.load("a:\n  <<: 5\n") }
        #expect(e1.message.contains("merge key"))
        #expect(e1.mark?.line == 2)
        let e2 = try #require(throws: YAMLError.self) { try YAML.load("a:\n  <<: [{x: 1}, 3]\n") }
        #expect(e2.message.contains("merge key"))
    }

    @Test func duplicateKeyReportsSecondOccurrence() throws {
        let error = try #require(throws: YAMLError.self) {
            try YAML.load(
                """
                metadata:
                  name: a
                  labels:
                    app: x
                    tier: web
                    app: y
                """)
        }
        #expect(error.mark == YAMLMark(line: 6, column: 5))
        #expect(error.message.contains("duplicate key \"app\""))
        #expect(error.description.hasPrefix("line 6, column 5: duplicate key \"app\""))
        let flow = try #require(throws: YAMLError.self) { try YAML.load("{a: 1, a: 2}") }
        #expect(flow.mark == YAMLMark(line: 1, column: 8))
    }

    @Test func complexKeysAreRejected() throws {
        let e1 = try #require(throws: YAMLError.self) { try YAML.load("? [a, b]\n: c\n") }
        #expect(e1.message.contains("mapping keys must be scalars"))
        #expect(e1.mark == YAMLMark(line: 1, column: 3))
        let e2 = try #require(throws: YAMLError.self) { try YAML.load("{{a: 1}: 2}") }
        #expect(e2.message.contains("mapping keys must be scalars"))
        let e3 = try #require(throws: YAMLError.self) { try YAML.load("x: &c [1]\n*c : 2\n") }
        #expect(e3.message.contains("mapping keys must be scalars"))
    }

    @Test func unterminatedQuote() throws {
        let error = try #require(throws: YAMLError.self) { try YAML.load("a: 1\nb: \"unterminated\nc: 3\n") }
        #expect(error.message.contains("found unexpected end of stream while scanning a quoted scalar"))
        #expect(error.message.contains("started at line 2, column 4"))
        #expect(error.mark?.line == 4)
    }

    @Test func tabsAreAnError() throws {
        let error = try #require(throws: YAMLError.self) { try YAML.load("a:\n\tb: 1\n") }
        #expect(error.mark == YAMLMark(line: 2, column: 1))
        #expect(error.message.contains("cannot start any token"))
    }

    @Test func syntaxErrorsCarryLibyamlText() throws {
        let e1 = try #require(throws: YAMLError.self) { try YAML.load("a: [1, 2\nb: 3\n") }
        #expect(e1.message.contains("while parsing a flow sequence"))
        let e2 = try #require(throws: YAMLError.self) { try YAML.load("a: b: c\n") }
        #expect(e2.message.contains("mapping values are not allowed in this context"))
        #expect(e2.mark == YAMLMark(line: 1, column: 5))
        let e3 = try #require(throws: YAMLError.self) { try YAML.load("key: value\n  bad indent: x\n- item\n") }
        #expect(e3.mark != nil)
    }

    @Test func byteOrderMark() throws {
        #expect(try YAML.load("\u{FEFF}a: 1\n") == ["a": 1])
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a: 1\n".utf8)
        #expect(try YAML.load(bytes) == ["a": 1])
    }

    @Test func invalidUTF8() throws {
        let bytes: [UInt8] = Array("a: 1\nb: x".utf8) + [0xFF] + Array("\n".utf8)
        let error = try #require(throws: YAMLError.self) { try YAML.load(bytes) }
        #expect(error.message.contains("UTF-8"))
        #expect(error.mark == YAMLMark(line: 2, column: 5))
    }

    @Test func multiDocumentStreams() throws {
        let docs = try YAML.loadAll(
            """
            # leading comment
            --- # first
            a: 1 # trailing
            ---
            # a document with only a comment
            --- # second
            - x
            ...
            --- ~
            ---
            ''
            ---
            """)
        #expect(docs.count == 4)
        #expect(identical(docs[0], ["a": 1]))
        #expect(identical(docs[1], ["x"]))
        #expect(identical(docs[2], nil))
        #expect(identical(docs[3], ""))
    }

    @Test(arguments: ["", "\n", "# only a comment\n", "---\n", "---\n---\n...\n", "   \n\n"])
    func emptyStreams(_ text: String) throws {
        #expect(try YAML.loadAll(text).isEmpty)
        #expect(try YAML.load(text) == nil)
        #expect(try YAML.loadDocuments(text).isEmpty)
    }

    @Test func loadRejectsSeveralDocuments() throws {
        let error = try #require(throws: YAMLError.self) { try YAML.load("a: 1\n---\nb: 2\n") }
        #expect(error.message.contains("single document"))
        #expect(error.mark?.line == 2)
        // A trailing separator is fine.
        #expect(try YAML.load("a: 1\n---\n") == ["a": 1])
    }

    @Test func rootScalarsAndSequences() throws {
        #expect(try YAML.load("42") == 42)
        #expect(try YAML.load("- a\n- b\n") == ["a", "b"])
        #expect(try YAML.load("'text'") == "text")
        #expect(try YAML.loadAll("--- 1\n--- 2\n") == [1, 2])
    }

    @Test func tagErrors() throws {
        let e1 = try #require(throws: YAMLError.self) { try YAML.load("v: !!int abc\n") }
        #expect(e1.message.contains("!!int"))
        #expect(e1.mark == YAMLMark(line: 1, column: 4))
        #expect(throws: YAMLError.self) { try YAML.load("v: !!bool yes\n") }
        #expect(throws: YAMLError.self) { try YAML.load("v: !!null 0\n") }
        #expect(throws: YAMLError.self) { try YAML.load("v: !!float abc\n") }
        #expect(throws: YAMLError.self) { try YAML.load("v: !!map [1]\n") }
        #expect(throws: YAMLError.self) { try YAML.load("v: !!seq {a: 1}\n") }
        #expect(throws: YAMLError.self) { try YAML.load("v: !!str [1]\n") }
        #expect(throws: YAMLError.self) { try YAML.load("v: !!map x\n") }
        #expect(try YAML.load("v: !!map {a: 1}\nw: !!seq [1]\nx: !custom {b: 2}\n") == ["v": ["a": 1], "w": [1], "x": ["b": 2]])
    }

    @Test func undefinedAlias() throws {
        let error = try #require(throws: YAMLError.self) { try YAML.load("a: *nowhere\n") }
        #expect(error.message.contains("undefined alias \"nowhere\""))
        #expect(error.mark == YAMLMark(line: 1, column: 4))
        // Anchors do not carry over to the next document.
        #expect(throws: YAMLError.self) { try YAML.loadAll("a: &x 1\n---\nb: *x\n") }
        // An alias to a node that is still open is an error, not a cycle.
        #expect(throws: YAMLError.self) { try YAML.load("a: &x [1, *x]\n") }
    }

    @Test func aliasBombIsRefusedQuickly() throws {
        var text = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
        for k in 1..<names.count {
            let prev = names[k - 1]
            let refs = Array(repeating: "*\(prev)", count: 9).joined(separator: ",")
            text += "\(names[k]): &\(names[k]) [\(refs)]\n"
        }
        var caught: YAMLError?
        let elapsed = seconds {
            do { _ = try YAML.load(text) } catch let e as YAMLError { caught = e } catch {}
        }
        let error = try #require(caught)
        #expect(error.message.contains("alias"))
        #expect(error.mark != nil)
        #expect(elapsed < 2)
    }

    @Test func moderateAliasUseIsFine() throws {
        var text = "base: &b {a: 1, b: [1, 2, 3]}\nitems:\n"
        for _ in 0..<1000 { text += "- *b\n" }
        let v = try YAML.load(text)
        #expect(v["items"]?.arrayValue?.count == 1000)
    }

    @Test func deepNestingIsRefused() throws {
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let error = try #require(throws: YAMLError.self) { try YAML.load(deep) }
        #expect(error.message.contains("nested deeper"))
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(try YAML.load(ok).arrayValue != nil)
    }

    @Test func marksOfNodes() throws {
        let docs = try YAML.loadDocuments(
            """
            apiVersion: v1
            kind: Config
            users:
            - name: admin
              user:
                token: secret
            metadata:
              annotations:
                app.kubernetes.io/name: web
                "[odd]": x
            ---
            second: doc
            """)
        #expect(docs.count == 2)
        let d = docs[0]
        #expect(d.mark(at: "") == YAMLMark(line: 1, column: 1))
        #expect(d.mark(at: "kind") == YAMLMark(line: 2, column: 7))
        #expect(d.mark(at: "users") == YAMLMark(line: 4, column: 1))
        #expect(d.mark(at: "users[0]") == YAMLMark(line: 4, column: 3))
        #expect(d.mark(at: "users[0].user.token") == YAMLMark(line: 6, column: 12))
        #expect(d.mark(at: "metadata.annotations[\"app.kubernetes.io/name\"]") == YAMLMark(line: 9, column: 29))
        #expect(d.mark(at: "metadata.annotations[\"[odd]\"]") == YAMLMark(line: 10, column: 14))
        #expect(d.mark(at: "users[1]") == nil)
        #expect(d.mark(at: "nope") == nil)
        #expect(d.mark(at: "users..x") == nil)
        #expect(docs[1].mark(at: "second") == YAMLMark(line: 12, column: 9))
        #expect(docs[1].start == YAMLMark(line: 11, column: 1))
        #expect(d.value.value(at: "users[0].user.token") == "secret")
    }

    @Test func marksThroughAliasesAndMerges() throws {
        let d = try #require(
            try YAML.loadDocuments(
                """
                base: &b
                  x: 1
                  y: 2
                use: *b
                merged:
                  <<: *b
                  z: 3
                """
            ).first)
        #expect(d.mark(at: "use") == YAMLMark(line: 4, column: 6))
        #expect(d.mark(at: "use.y") == YAMLMark(line: 3, column: 6))
        #expect(d.mark(at: "merged.x") == YAMLMark(line: 2, column: 6))
        #expect(d.mark(at: "merged.z") == YAMLMark(line: 7, column: 6))
    }

    @Test func parsingIsFast() throws {
        var text = ""
        for i in 0..<2000 {
            text += """
                - name: item-\(i)
                  labels: {app: web, tier: "\(i)"}
                  replicas: \(i)
                  ratio: \(Double(i) / 7)
                  enabled: true
                  script: |
                    echo \(i)
                    exit 0

                """
        }
        var count = 0
        let elapsed = try seconds { count = try YAML.load(text).arrayValue?.count ?? 0 }
        #expect(count == 2000)
        // Generous: a debug build on a shared machine. Release builds take a few milliseconds.
        #expect(elapsed < 3)
    }
}

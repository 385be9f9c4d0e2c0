import Foundation
import Testing
import YAML

@Suite("YAML emitting and round trips")
struct YAMLRoundTripTests {
    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: vllm-decode
          namespace: "default"
          labels:
            app.kubernetes.io/name: vllm
            app.kubernetes.io/component: decode
            heteroscale.io/role: decode
            version: "1.10"
          annotations:
            description: "Décodeur — 解码 🚀"
            "key: with colon": yes
            "with #hash": '#'
            "": empty key
            "123": numeric key
            "true": boolean key
            empty-string: ""
            note: |
              A multi-line note
                with indentation
              and a final newline.
        spec:
          replicas: 3
          selector:
            matchLabels: {app: vllm, role: decode}
          strategy:
            type: RollingUpdate
            rollingUpdate: {maxSurge: 25%, maxUnavailable: 0}
          template:
            metadata:
              labels:
                app: vllm
                role: decode
              annotations: {}
            spec:
              nodeSelector:
                nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3
              tolerations: []
              containers:
              - name: vllm
                image: vllm/vllm-openai:v0.6.3
                command: ["/bin/sh", "-c"]
                args:
                - |
                  set -e
                  python3 -m vllm.entrypoints.openai.api_server \\
                    --model meta-llama/Llama-2-70b-hf --port 8000
                - --tensor-parallel-size=4
                - "0755"
                - "1e3"
                env:
                - name: PORT
                  value: "8000"
                - name: ENABLED
                  value: "true"
                - name: NOTHING
                  value: ""
                - name: NULLISH
                  value: "~"
                - name: FOLDED
                  value: >-
                    folded text
                    on two lines
                - name: TRAILING
                  value: "trailing spaces   \\nsecond"
                - name: TABS
                  value: "a\\tb"
                ports:
                - containerPort: 8000
                  protocol: TCP
                resources:
                  limits: {nvidia.com/gpu: 4, memory: 320Gi, cpu: "16"}
                  requests:
                    cpu: 8
                    memory: 0.5Ti
                readinessProbe:
                  httpGet: {path: /health, port: 8000}
                  initialDelaySeconds: 30
                  periodSeconds: 5.5
                  failureThreshold: null
              volumes:
              - name: shm
                emptyDir: {medium: Memory, sizeLimit: 16Gi}
        status: {}
        """

    static let richDocuments: [String] = [
        deployment,
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: scripts}
        data:
          run.sh: |+
            #!/bin/sh
            echo "hello: world" # not a comment

          empty.txt: ""
          leading-space.txt: "  leading"
          only-newlines: "\\n\\n"
          crlf: "a\\r\\nb"
          unicode-separators: "a\\u2028b\\u0085c"
          looks-like-doc: "---"
          dots: "..."
          dash: "-"
          question: "?"
          indicator: "*star"
          version: "v1.2.3"
          octal-ish: "0777"
          float-ish: "1e-5"
          inf-ish: ".inf"
          hex-ish: "0x1F"
          bool-ish: "on"
          null-ish: "null"
          merge-ish: "<<"
          quote: "it's \\"quoted\\""
          backslash: 'C:\\path\\to'
          control: "bell\\a"
          long: "\(String(repeating: "lorem ipsum ", count: 30))"
        """,
        """
        numbers:
          ints: [0, -1, 9223372036854775807, -9223372036854775808, 0x1F, 0o17]
          doubles: [1.0, -0.0, 0.1, 1e20, 1.5e-7, 123456789.125, .inf, -.inf, .nan, 9223372036854775808]
          nested: [[], [[]], [{}], {a: []}]
        """,
    ]

    @Test(arguments: richDocuments.indices)
    func richDocumentRoundTrips(_ index: Int) throws {
        let original = try YAML.load(Self.richDocuments[index])
        let text = YAML.dump(original)
        let back = try YAML.load(text)
        #expect(identical(back, original), "\(text)")
        // Dumping is stable.
        #expect(YAML.dump(back) == text)
    }

    @Test func deploymentValues() throws {
        let v = try YAML.load(Self.deployment)
        #expect(v["metadata"]?["labels"]?["version"] == "1.10")
        #expect(v["metadata"]?["annotations"]?["key: with colon"] == "yes")
        #expect(v["metadata"]?["annotations"]?[""] == "empty key")
        let container = try #require(v.value(at: "spec.template.spec.containers[0]"))
        #expect(container["args"]?[2] == "0755")
        #expect(container["env"]?[4]?["value"] == "folded text on two lines")
        #expect(container.value(at: "resources.limits[\"nvidia.com/gpu\"]") == 4)
        #expect(identical(container.value(at: "readinessProbe.periodSeconds")!, .double(5.5)))
        #expect(v["spec"]?["template"]?["spec"]?["tolerations"] == [])
    }

    @Test func dumpFormat() {
        let value: JSONValue = [
            "apiVersion": "v1",
            "count": 3,
            "ratio": 1.0,
            "big": 1e20,
            "enabled": true,
            "nothing": nil,
            "quoted": ["1", "true", "null", "", "1.5", ".inf", "0x1F", "yes", "~"],
            "plain": ["hello world", "--flag=1", "a:b", "100m", "v1.2"],
            "needs": ["- x", "a: b", "a #b", " lead", "trail ", "#c", "&a", "*a", "!t", "|", ">", "@x", "`x", "%x", "---"],
            "script": "line 1\nline 2\n",
            "empty": [:],
            "list": [],
            "items": [["name": "a"], ["name": "b", "tags": ["x"]]],
        ]
        let expected = """
            apiVersion: v1
            count: 3
            ratio: 1.0
            big: 1e+20
            enabled: true
            nothing: null
            quoted:
            - "1"
            - "true"
            - "null"
            - ""
            - "1.5"
            - ".inf"
            - "0x1F"
            - "yes"
            - "~"
            plain:
            - hello world
            - --flag=1
            - a:b
            - 100m
            - v1.2
            needs:
            - "- x"
            - "a: b"
            - "a #b"
            - " lead"
            - "trail "
            - "#c"
            - "&a"
            - "*a"
            - "!t"
            - "|"
            - ">"
            - "@x"
            - "`x"
            - "%x"
            - "---"
            script: |
              line 1
              line 2
            empty: {}
            list: []
            items:
            - name: a
            - name: b
              tags:
              - x

            """
        #expect(YAML.dump(value) == expected)
        expectRoundTrip(value)
    }

    static let quoting: [(String, Bool)] = [
        ("hello", false), ("1", true), ("-1", true), ("1.5", true), ("1e3", true), (".inf", true), (".NaN", true),
        ("0x1F", true), ("0o17", true), ("true", true), ("False", true), ("null", true), ("~", true), ("", true),
        // YAML 1.1 readers (kubectl) would not read these as strings.
        ("yes", true), ("No", true), ("on", true), ("OFF", true), ("y", true), ("n", true), ("1_000", true),
        ("0b101", true), ("0777", true), ("1:30", true), ("2024-01-01", true), ("<<", true), ("=", true),
        // Fine as plain scalars.
        ("yess", false), ("0xZZ", false), ("1Gi", false), ("500m", false), ("v1", false), ("a-b_c.d/e", false),
        ("--port=8080", false), ("-x", false), ("a:b", false), ("a#b", false), ("x,y", false), ("[x]y", true),
        ("100%", false), ("é", false), ("@x", true), ("a: b", true), ("a #b", true), ("x:", true),
    ]

    @Test(arguments: quoting)
    func quotedOnlyWhenNeeded(_ string: String, _ quoted: Bool) throws {
        let text = YAML.dump(.string(string))
        #expect(text.hasPrefix("\"") == quoted, "\(text)")
        #expect(try YAML.load(text) == .string(string))
    }

    @Test func dumpScalarsAndStreams() throws {
        #expect(YAML.dump("x") == "x\n")
        #expect(YAML.dump(42) == "42\n")
        #expect(YAML.dump([:]) == "{}\n")
        #expect(YAML.dump([]) == "[]\n")
        #expect(YAML.dumpAll([]) == "")
        let stream = YAML.dumpAll([["a": 1], ["b": [1, 2]], nil])
        #expect(stream == "a: 1\n---\nb:\n- 1\n- 2\n--- null\n")
        #expect(try YAML.loadAll(stream) == [["a": 1], ["b": [1, 2]], nil])
        #expect(YAML.dump(.double(.nan)).hasPrefix(".nan"))
    }

    @Test func doublesStayDoubles() throws {
        for d in [1.0, -0.0, 0.0, 100.0, 1e15, 1e16, 1e20, 1e-5, 5e-324, .greatestFiniteMagnitude, 0.1 + 0.2, -3.25] {
            let text = YAML.dump(.double(d))
            let back = try YAML.load(text)
            #expect(identical(back, .double(d)), "\(d) dumped as \(text)")
        }
        for i: Int64 in [0, -1, .max, .min, 42] { expectRoundTrip(.int(i)) }
    }

    /// Strings built from characters that matter to YAML, as values and as keys.
    @Test func randomStringsRoundTrip() throws {
        let alphabet: [String] = [
            "a", "Z", "0", "1", "9", " ", "  ", "\n", "\t", "\r", ":", ": ", " #", "#", "-", "- ", "?", ",", "[", "]",
            "{", "}", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", "\\", ".", "e", "x", "o", "~", "null", "true",
            "yes", "<<", "---", "...", "é", "😀", "\u{85}", "\u{2028}", "\u{FEFF}", "\u{7F}", "\u{0}", "\u{1B}", "_", "+",
            ".inf", "0x", "=",
        ]
        var rng = SplitMix64(seed: 0x5EED)
        var values: [JSONValue] = []
        var object = JSONObject()
        for _ in 0..<3000 {
            let n = Int.random(in: 0...6, using: &rng)
            var s = ""
            for _ in 0..<n { s += alphabet.randomElement(using: &rng)! }
            values.append(.string(s))
            object[s] = .string(s)
        }
        expectRoundTrip(.array(values))
        expectRoundTrip(.object(object))
        for v in values.prefix(500) { expectRoundTrip(v) }
    }

    @Test func randomTreesAndStreamsRoundTrip() throws {
        var rng = SplitMix64(seed: 2024)
        for _ in 0..<1500 { expectRoundTrip(randomValue(using: &rng)) }
        for _ in 0..<200 {
            let docs = (0..<Int.random(in: 0...4, using: &rng)).map { _ in randomValue(using: &rng) }
            let text = YAML.dumpAll(docs)
            let back = try YAML.loadAll(text)
            #expect(back.count == docs.count && zip(back, docs).allSatisfy { identical($0, $1) }, "\(text)")
        }
    }

    @Test func codedValuesRoundTrip() throws {
        let value: JSONValue = [
            "nested": ["deep": ["deeper": [[["x": [1, [2, [3]]]]]]]],
            "mixed": [nil, true, false, 0, -5, 2.5, "s", [], [:]],
            "multi": ["a\n", "a\nb", "a\n\n", "\na", " a\nb", "a \nb", "a\n b\n", "\n", "\n\n", "a\r\nb", "tab\tline\nx"],
        ]
        expectRoundTrip(value)
    }

    // MARK: Every YAML file of the repository

    /// The repository root: three levels above this file, with symlinks resolved (the dev package links here).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func yamlFiles() -> [URL] {
        let root = repositoryRoot
        guard
            let walker = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isDirectoryKey], options: [])
        else { return [] }
        var files: [URL] = []
        for case let url as URL in walker {
            let name = url.lastPathComponent
            let isDirectory = (try? url.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) ?? false
            if isDirectory {
                if name.hasPrefix(".build") || name == ".git" || name == ".swiftpm" { walker.skipDescendants() }
                // Helm templates are Go templates that render to YAML, not YAML.
                if name == "templates" && url.deletingLastPathComponent().deletingLastPathComponent().lastPathComponent == "charts" {
                    walker.skipDescendants()
                }
                continue
            }
            if name.hasSuffix(".yaml") || name.hasSuffix(".yml") { files.append(url) }
        }
        return files.sorted { $0.path < $1.path }
    }

    @Test func everyRepositoryYAMLFileParsesAndRoundTrips() throws {
        let root = Self.repositoryRoot
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("Sources/YAML").path))
        let files = Self.yamlFiles()
        var parsedFiles = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            let docs: [JSONValue]
            do {
                docs = try YAML.loadAll(text)
            } catch {
                Issue.record("\(file.path): \(error)")
                continue
            }
            parsedFiles += 1
            let dumped = YAML.dumpAll(docs)
            let back = try YAML.loadAll(dumped)
            #expect(back.count == docs.count, "\(file.path)")
            for (a, b) in zip(docs, back) { #expect(identical(a, b), "\(file.path) does not round-trip") }
        }
        #expect(parsedFiles == files.count)
    }
}

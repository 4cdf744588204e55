import Foundation
import Registry
import Testing

@testable import Rules

@Suite struct PolicyCatalogTests {
    /// A fresh directory holding `files` (name to contents).
    func directory(_ files: [String: String]) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("policycatalog-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, contents) in files {
            try contents.write(toFile: "\(path)/\(name)", atomically: true, encoding: .utf8)
        }
        return path
    }

    static let good = """
        // a comment
        {
          id: "good",
          title: '好政策',
          short_title: "好",
          basis: "公告",
          effective_from: "2023-01-01",
          effective_to: "2027-12-31",
          priority: 5,
          channels: ["sms"],
          when: "employees <= 300",
        }
        """

    @Test func loadsFieldsAndSkipsOtherFiles() throws {
        let dir = try directory(["good.json5": Self.good, "readme.txt": "not a profile"])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(diagnostics.isEmpty)
        let profile = try #require(catalog.entry(id: "good")?.profile)
        #expect(profile.title == "好政策")
        #expect(profile.effectiveFrom == date("2023-01-01") && profile.effectiveTo == date("2027-12-31"))
        #expect(profile.priority == 5 && profile.channels == [.sms])
        #expect(profile.file == "\(dir)/good.json5")
        #expect(catalog.entry(id: "good")?.rule.matches(enterprise(employees: 300)) == true)
    }

    @Test func ruleErrorIsReportedAtItsFilePositionAndOthersStillLoad() throws {
        let bad = """
            {
              id: "bad",
              when: "employees <= 300 and industry_code == 5",
            }
            """
        let dir = try directory(["a.json5": bad, "b.json5": Self.good])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(catalog.entries.map(\.profile.id) == ["good"])
        #expect(diagnostics.count == 1)
        let d = try #require(diagnostics.first)
        // Line 3 is `  when: "employees <= 300 and industry_code == 5",`; the `5` is at column 48.
        #expect(d.file == "\(dir)/a.json5" && d.line == 3 && d.column == 48 && d.field == "when")
        #expect(d.description == "\(dir)/a.json5:3:48: when: type mismatch: industry_code is string, 5 is number")
    }

    @Test func ruleErrorOnALaterRuleLineAfterEscapes() throws {
        let bad = """
            {
              id: "bad",
              when: "zone == \\"前海\\"\\n  and employes > 1",
            }
            """
        let dir = try directory(["a.json5": bad])
        let (_, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        let d = try #require(diagnostics.first)
        // The rule's line 2 column 7 (`employes`) is written at file line 3, after the `\n` escape.
        let line = bad.split(separator: "\n", omittingEmptySubsequences: false)[2]
        let column = line.distance(from: line.startIndex, to: line.range(of: "employes")!.lowerBound) + 1
        #expect(d.line == 3 && d.column == column, "\(d)")
        #expect(d.message.contains("did you mean 'employees'"))
    }

    @Test func syntaxErrorHasAPosition() throws {
        let bad = "{\n  id: \"x\",\n  when: \"high_tech\"\n  title: \"t\",\n}"
        let dir = try directory(["bad.json5": bad, "good.json5": Self.good])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(catalog.entries.count == 1)
        let d = try #require(diagnostics.first)
        #expect(d.line == 4 && d.column == 3, "\(d)")
        #expect(d.message.contains("JSON5 syntax error"))
    }

    /// 200,000 nested `[` in a profile used to overflow the stack of the position scanner.
    @Test func deepNestingIsASyntaxErrorNotACrash() throws {
        let nested = String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)
        let deep = "{\n  id: \"deep\",\n  notes: " + nested + ",\n  when: \"high_tech\",\n}"
        let dir = try directory(["deep.json5": deep, "good.json5": Self.good])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(catalog.entries.map(\.profile.id) == ["good"])
        let d = try #require(diagnostics.first)
        // The 64th `[` opens the 65th level (the object is the first): line 3, column 10 + 63.
        #expect(d.line == 3 && d.column == 73, "\(d)")
        #expect(d.message.contains("JSON5 syntax error: objects and arrays nest deeper than 64 levels"), "\(d)")
    }

    @Test func duplicateIdIsReportedAgainstTheLaterFile() throws {
        let dir = try directory(["a.json5": Self.good, "b.json5": Self.good])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(catalog.entries.count == 1)
        let d = try #require(diagnostics.first)
        #expect(d.file == "\(dir)/b.json5" && d.line == 3 && d.column == 7 && d.field == "id")
        #expect(d.message.contains("duplicate id 'good'"))
    }

    @Test func fieldProblemsAreEachReported() throws {
        let bad = """
            {
              id: "Bad-Id",
              colour: "red",
              effective_from: "2023-02-30",
              priority: 1.5,
              channels: ["fax"],
              short_title: "这个简称实在是太长了超过十个字",
            }
            """
        let dir = try directory(["bad.json5": bad])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(catalog.entries.isEmpty)
        let byField = Dictionary(diagnostics.map { ($0.field ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(byField.keys) == ["id", "colour", "effective_from", "priority", "channels", "short_title", "when"])
        #expect(byField["colour"]?.line == 3 && byField["colour"]?.column == 3)
        #expect(byField["colour"]?.message == "unknown key")
        #expect(byField["effective_from"]?.line == 4 && byField["effective_from"]?.column == 19)
        #expect(byField["when"]?.message == "missing required field")
    }

    static let guided = """
        {
          id: "guided",
          summary: "第一行说明。\\n第二行说明。",
          guide: ["第一步：在电子税务局申报。", "第二步：留存资料备查。"],
          official_link: "https://fgk.chinatax.gov.cn/zcfgk/c102416/c5210453/content.html",
          when: "high_tech",
        }
        """

    @Test func guidanceFieldsLoad() throws {
        let dir = try directory(["guided.json5": Self.guided])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        let profile = try #require(catalog.entry(id: "guided")?.profile)
        #expect(profile.summary == "第一行说明。\n第二行说明。")
        #expect(profile.guide == ["第一步：在电子税务局申报。", "第二步：留存资料备查。"])
        #expect(profile.officialLink == "https://fgk.chinatax.gov.cn/zcfgk/c102416/c5210453/content.html")
        #expect(profile.missingGuidance.isEmpty)
        #expect(catalog.guidanceProblems(ids: ["guided"]).isEmpty)
    }

    /// The fields are optional on load, so a rule can be tried first; a campaign needs them.
    @Test func aProfileWithoutAGuideLoadsButIsReportedForACampaign() throws {
        let unguided = """
            {
              id: "unguided",
              summary: "说明。",
              official_link: "https://www.chinatax.gov.cn/",
              when: "high_tech",
            }
            """
        let dir = try directory(["a.json5": unguided, "b.json5": Self.good])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(diagnostics.isEmpty, "\(diagnostics)")
        #expect(catalog.entry(id: "unguided")?.profile.missingGuidance == ["guide"])
        let problems = catalog.guidanceProblems(ids: ["unguided"])
        #expect(problems.count == 1)
        let d = try #require(problems.first)
        // Reported at the profile's id: line 2, `  id: "unguided",`, the value at column 7.
        #expect(d.file == "\(dir)/a.json5" && d.line == 2 && d.column == 7 && d.field == "guide", "\(d)")
        #expect(d.message.contains("policy 'unguided' has no guide"))
        // `good` lacks all three; they come in the order summary, guide, official_link.
        #expect(
            catalog.guidanceProblems(ids: ["good", "no_such_policy"]).map(\.field) == [
                "summary", "guide", "official_link",
            ])
    }

    @Test func guidanceLengthsAndLinkAreLocatedErrors() throws {
        let long = String(repeating: "长", count: 81)
        let step = String(repeating: "步", count: 121)
        let bad = """
            {
              id: "bad_guidance",
              summary: "一\\n\(long)",
              guide: ["只有一步，\(step)"],
              official_link: "http://www.chinatax.gov.cn/x.html",
              link: "https://fgk.chinatax.gov.cn/",
              when: "high_tech",
            }
            """
        let dir = try directory(["bad.json5": bad])
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(catalog.entries.isEmpty)
        let summary = try #require(diagnostics.first { $0.field == "summary" })
        // The long line starts after `  summary: "一\n`: line 3, column 16.
        #expect(summary.line == 3 && summary.column == 16, "\(summary)")
        #expect(summary.message == "line 2 must be at most 80 characters, has 81")
        let guide = diagnostics.filter { $0.field == "guide" }
        #expect(
            guide.map(\.message) == ["must have 2 to 6 steps, has 1", "step 1 must be at most 120 characters, has 126"])
        #expect(guide.map(\.line) == [4, 4] && guide.map(\.column) == [10, 11], "\(guide)")
        let link = try #require(diagnostics.first { $0.field == "official_link" })
        #expect(link.line == 5 && link.column == 18 && link.message.hasPrefix("expected an https address"), "\(link)")
        #expect(diagnostics.first { $0.field == "link" }?.message == "unknown key")
    }

    @Test(arguments: [
        ("https://evilgov.cn/x", "must be on an official site"),
        ("https://www.gov.cn.example.com/x", "must be on an official site"),
        ("https://user@www.chinatax.gov.cn/x", "must not carry a user name"),
        ("chinatax.gov.cn/x", "expected an https address"),
        ("", "expected an https address"),
    ])
    func officialLinkMustBeAnHTTPSGovernmentAddress(link: String, problem: String) throws {
        let text = "{ id: \"l\", official_link: \"\(link)\", when: \"high_tech\" }"
        let dir = try directory(["l.json5": text])
        let (_, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(diagnostics.count == 1 && diagnostics.first?.field == "official_link", "\(diagnostics)")
        #expect(diagnostics.first?.message.contains(problem) == true, "\(diagnostics)")
    }

    @Test func guideStepsMustBeNonEmptySingleLineStrings() throws {
        let text = """
            {
              id: "steps",
              summary: "",
              guide: ["一步", 5, "", "两\\n行", "一", "二", "三"],
              when: "high_tech",
            }
            """
        let dir = try directory(["s.json5": text])
        let (_, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        #expect(
            diagnostics.map { "\($0.field ?? ""): \($0.message)" } == [
                "summary: must not be empty",
                "guide: must have 2 to 6 steps, has 7",
                "guide: step 2: expected a string, found a number",
                "guide: step 3 is empty",
                "guide: step 4 must be one line; make each line a step of its own",
            ])
    }

    @Test func orderIsPriorityThenId() {
        func entry(_ id: String, _ priority: Int) throws -> PolicyCatalog.Entry {
            PolicyCatalog.Entry(
                profile: PolicyProfile(
                    id: id, title: id, shortTitle: id, basis: "", priority: priority, when: "high_tech"),
                rule: try rule("high_tech"))
        }
        let catalog = PolicyCatalog(entries: [try! entry("b", 1), try! entry("a", 1), try! entry("c", 9)])
        #expect(catalog.entries.map(\.profile.id) == ["c", "a", "b"])
    }
}

@Suite struct PolicyCatalogFileShapeTests {
    func load(_ files: [String: String]) throws -> (PolicyCatalog, [Diagnostic], String) {
        let dir = try PolicyCatalogTests().directory(files)
        let (catalog, diagnostics) = PolicyCatalog.load(directory: dir, schema: schema)
        return (catalog, diagnostics, dir)
    }

    @Test func arrayOfProfiles() throws {
        let text = """
            [
              { id: "one", when: "high_tech" },
              { id: "two", priority: 3, when: "not high_tech" },
            ]
            """
        let (catalog, diagnostics, _) = try load(["many.json5": text])
        #expect(diagnostics.isEmpty)
        #expect(catalog.entries.map(\.profile.id) == ["two", "one"])
        #expect(catalog.entry(id: "one")?.profile.channels == Channel.allCases)
    }

    @Test func ruleErrorInsideAContinuedString() throws {
        let text = "{\n  id: \"cont\",\n  when: \"employees > 1 and \\\n    zone == 5\",\n}"
        let (catalog, diagnostics, _) = try load(["cont.json5": text])
        #expect(catalog.entries.isEmpty)
        let d = try #require(diagnostics.first)
        // `5` sits on file line 4, `    zone == 5"`, column 13.
        #expect(d.line == 4 && d.column == 13, "\(d)")
    }

    @Test func invalidBareValueIsASyntaxErrorWithPosition() throws {
        let (_, diagnostics, _) = try load([
            "bad.json5": "{\n  id: \"x\",\n  priority: high,\n  when: \"high_tech\",\n}"
        ])
        let d = try #require(diagnostics.first)
        #expect(d.line == 3 && d.column == 13 && d.message.contains("invalid value 'high'"), "\(d)")
    }

    @Test func mistypedFields() throws {
        let text = "{ id: \"x\", priority: true, title: 5, when: \"high_tech\", channels: \"sms\" }"
        let (catalog, diagnostics, _) = try load(["x.json5": text])
        #expect(catalog.entries.isEmpty)
        #expect(Set(diagnostics.compactMap(\.field)) == ["priority", "title", "channels"])
        #expect(diagnostics.first { $0.field == "priority" }?.column == 22)
    }
}

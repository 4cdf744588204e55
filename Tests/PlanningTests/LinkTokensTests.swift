import Config
import Foundation
import Messaging
import Testing

@testable import Planning

@Suite struct LinkTokensTests {
    let tokens: LinkTokens

    init() throws {
        tokens = try LinkTokens(secret: Array("0123456789abcdef0123456789abcdef".utf8))
    }

    @Test func sameCampaignAndCodeGiveTheSameToken() throws {
        let token = tokens.token(campaign: 7, creditCode: "91110105MA01ABCD0X")
        #expect(token == tokens.token(campaign: 7, creditCode: "91110105MA01ABCD0X"))
        #expect(token == tokens.link(campaign: 7).token(for: "91110105MA01ABCD0X"))
        #expect(token.count == PackageLink.tokenLength)
        #expect(token.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        // HMAC-SHA256("7|91110105MA01ABCD0X"), first 8 bytes in base62, computed independently.
        #expect(token == "CLan89Pi9oO")
    }

    @Test func campaignsAndCodesGiveDifferentTokens() {
        #expect(
            tokens.token(campaign: 7, creditCode: "91110105MA01ABCD0X")
                != tokens.token(campaign: 8, creditCode: "91110105MA01ABCD0X"))
        let codes = (0..<1000).map { "91110105MA01\(String($0 + 1000))X" }
        #expect(Set(codes.map { tokens.token(campaign: 1, creditCode: $0) }).count == codes.count)
    }

    @Test func theSecretKeysTheToken() throws {
        let other = try LinkTokens(secret: Array("another secret, just as long ...".utf8))
        #expect(
            tokens.token(campaign: 7, creditCode: "91110105MA01ABCD0X")
                != other.token(campaign: 7, creditCode: "91110105MA01ABCD0X"))
    }

    @Test func theDefaultSecretIsGeneratedOnceWithMode0600() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pp-link-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var settings = LandingSettings()
        settings.secretFile = directory.appendingPathComponent("landing.secret").path
        let first = try LinkTokens.load(settings)
        let attributes = try FileManager.default.attributesOfItem(atPath: settings.secretFile)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let text = try String(contentsOfFile: settings.secretFile, encoding: .utf8)
        #expect(text.trimmingCharacters(in: .whitespacesAndNewlines).count == 64)
        let again = try LinkTokens.load(settings)
        #expect(first.token(campaign: 1, creditCode: "X") == again.token(campaign: 1, creditCode: "X"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["landing.secret"])
    }

    @Test func aConfiguredSecretFileMustExist() {
        var settings = LandingSettings()
        settings.secretFile = "/nonexistent/landing-secret"
        settings.secretFileConfigured = true
        #expect(throws: ConfigurationError.self) { try LinkTokens.load(settings) }
    }
}

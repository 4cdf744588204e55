import Delivery
import Testing

@Suite struct PercentEncodingTests {
    @Test func encodesReservedCharactersAndKeepsTilde() {
        #expect(PercentEncoding.rfc3986(" ~/*-+") == "%20~%2F%2A-%2B")
    }

    @Test func encodesUTF8BytesWithUppercaseHex() {
        #expect(
            PercentEncoding.rfc3986(" ~/*-+阿^\"{}:") == "%20~%2F%2A-%2B%E9%98%BF%5E%22%7B%7D%3A")
    }

    @Test func keepsUnreservedCharacters() {
        let unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
        #expect(PercentEncoding.rfc3986(unreserved) == unreserved)
        #expect(PercentEncoding.rfc3986("") == "")
    }
}

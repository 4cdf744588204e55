import Testing

@testable import Registry

struct MaskTests {
    @Test func masksMobile() {
        #expect(Mask.mobile("13812341234") == "138****1234")
    }

    @Test func masksOpenID() {
        #expect(Mask.openID("o6_bmjrPTlm6_2sgVt7hMZOPfL2M") == "o6_b****fL2M")
    }

    @Test func masksCreditCode() {
        #expect(Mask.creditCode("91350100M000100Y43") == "913501********0Y43")
    }

    @Test func masksShortValuesWhole() {
        #expect(Mask.mobile("1234567") == "****")
        #expect(Mask.openID("abc") == "****")
        #expect(Mask.creditCode("") == "********")
    }
}

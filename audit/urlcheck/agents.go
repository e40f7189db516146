package urlcheck

// A Crawler is a robots.txt product token whose Disallow of an image's path
// counts as an objection to training on the image: its operator gathers
// web content to train AI models, or its crawl feeds training sets.
type Crawler struct {
	Token    string // the product token, as its operator documents it (matched in any case)
	Operator string
	Purpose  string // what its crawl is for, as its operator says
}

// Crawlers are the crawlers that gather AI training data, as of
// 2026-12-04, from their operators' documentation and the public lists
// (ai-robots-txt/ai.robots.txt, Dark Visitors). Crawlers that fetch only
// for search results or at a user's request (OAI-SearchBot, ChatGPT-User,
// Claude-User, Claude-SearchBot, Perplexity-User, DuckAssistBot) are not
// listed: keeping them out says nothing about training. This is the one
// list; TrainingAgents holds its tokens.
var Crawlers = []Crawler{
	{"GPTBot", "OpenAI", "training OpenAI's generative models"},
	{"ClaudeBot", "Anthropic", "training Anthropic's models"},
	{"anthropic-ai", "Anthropic", "training (an earlier token)"},
	{"Claude-Web", "Anthropic", "training (an earlier token)"},
	{"Google-Extended", "Google", "the control token for training Gemini and Vertex AI models"},
	{"Applebot-Extended", "Apple", "the control token for training Apple's foundation models"},
	{"CCBot", "Common Crawl", "the open web archive LAION and most image-text training sets are drawn from"},
	{"meta-externalagent", "Meta", "training Meta's AI models"},
	{"FacebookBot", "Meta", "training Meta's speech recognition models"},
	{"Bytespider", "ByteDance", "training ByteDance's large language models"},
	{"TikTokSpider", "ByteDance", "gathering data for ByteDance's AI models"},
	{"PerplexityBot", "Perplexity", "indexing content for Perplexity's AI answer engine"},
	{"cohere-training-data-crawler", "Cohere", "training Cohere's models"},
	{"cohere-ai", "Cohere", "gathering content for Cohere's models (an earlier token)"},
	{"Amazonbot", "Amazon", "Amazon's services, the training of its AI models included"},
	{"AI2Bot", "Allen Institute for AI", "training open language models"},
	{"Ai2Bot-Dolma", "Allen Institute for AI", "the Dolma training corpus"},
	{"Diffbot", "Diffbot", "its knowledge graph, sold for AI training"},
	{"omgili", "Webz.io", "web data sold for AI training"},
	{"omgilibot", "Webz.io", "web data sold for AI training"},
	{"Webzio-Extended", "Webz.io", "the control token for AI training on Webz.io's data"},
	{"YandexAdditional", "Yandex", "the control token for training YandexGPT"},
	{"PanguBot", "Huawei", "training the PanGu models"},
	{"Timpibot", "Timpi", "training large language models"},
	{"ImagesiftBot", "ImageSift", "an image index sold for AI training"},
	{"Kangaroo Bot", "Kangaroo LLM", "training large language models"},
	{"SBIntuitionsBot", "SB Intuitions", "training Japanese language models"},
	{"Cotoyogi", "ROIS-DS", "training Japanese language models"},
	{"ICC-Crawler", "NICT", "training AI models"},
	{"FriendlyCrawler", "FriendlyCrawler", "machine learning datasets"},
	{"VelenPublicWebCrawler", "Velen", "machine learning datasets"},
	{"img2dataset", "LAION and others", "downloading image datasets for training (img2dataset's own user agent)"},
}

// TrainingAgents are the tokens of Crawlers, the default Options.Agents.
var TrainingAgents = func() []string {
	out := make([]string, len(Crawlers))
	for i, c := range Crawlers {
		out[i] = c.Token
	}
	return out
}()

// crawlerInfo returns the Crawler with token a (any case), if listed.
func crawlerInfo(a string) (Crawler, bool) {
	for _, c := range Crawlers {
		if equalFoldASCII(c.Token, a) {
			return c, true
		}
	}
	return Crawler{}, false
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

package rdf

import (
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// siteTable resolves global site ids to link paths, languages and groups.
// It is read-only after construction, so Renderers can share it.
type siteTable struct {
	byID      map[string]*Site
	canonical map[string]string
	wikimedia bool
}

func newSiteTable(cfg *Config) *siteTable {
	t := &siteTable{byID: make(map[string]*Site, len(cfg.Sites)), canonical: cfg.CanonicalLanguageCodes, wikimedia: cfg.WikimediaSites}
	for i := range cfg.Sites {
		t.byID[cfg.Sites[i].ID] = &cfg.Sites[i]
	}
	return t
}

// wikimediaFamilies maps a site id suffix to its domain and group.
var wikimediaFamilies = []struct{ suffix, domain, group string }{
	{"wikiquote", "wikiquote.org", "wikiquote"},
	{"wikisource", "wikisource.org", "wikisource"},
	{"wikivoyage", "wikivoyage.org", "wikivoyage"},
	{"wikibooks", "wikibooks.org", "wikibooks"},
	{"wikinews", "wikinews.org", "wikinews"},
	{"wiktionary", "wiktionary.org", "wiktionary"},
	{"wikiversity", "wikiversity.org", "wikiversity"},
	{"wiki", "wikipedia.org", "wikipedia"},
}

// wikimediaDomainLanguages are subdomains that differ from the site id.
var wikimediaDomainLanguages = map[string]string{"be-x-old": "be-tarask"}

// lookup finds a site in the table, or derives a Wikimedia one.
func (t *siteTable) lookup(id string) (Site, bool) {
	if s, ok := t.byID[id]; ok {
		return *s, true
	}
	if !t.wikimedia {
		return Site{}, false
	}
	for _, f := range wikimediaFamilies {
		lang, ok := strings.CutSuffix(id, f.suffix)
		if !ok || lang == "" || !isLowerWord(lang) {
			continue
		}
		lang = strings.ReplaceAll(lang, "_", "-")
		sub := lang
		if d, ok := wikimediaDomainLanguages[lang]; ok {
			sub = d
		}
		return Site{ID: id, Language: lang, LinkPath: "https://" + sub + "." + f.domain + "/wiki/$1", Group: f.group}, true
	}
	return Site{}, false
}

func isLowerWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= 'a' && s[i] <= 'z' || s[i] == '_') {
			return false
		}
	}
	return true
}

// language is the RDF language code of a site language: the configured
// canonical code, else MediaWiki's BCP 47 form (nds-nl → nds-NL).
func (t *siteTable) language(code string) string {
	if c, ok := t.canonical[code]; ok {
		return c
	}
	return bcp47(code)
}

// bcp47 is MediaWiki's LanguageCode::bcp47 casing: two-letter subtags
// after the first upper-case, four-letter ones title-case, the rest lower.
func bcp47(code string) string {
	parts := strings.Split(strings.ToLower(code), "-")
	for i := 1; i < len(parts); i++ {
		if prev := parts[i-1]; prev == "x" || prev == "i" {
			continue
		}
		switch len(parts[i]) {
		case 2:
			parts[i] = strings.ToUpper(parts[i])
		case 4:
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "-")
}

// addSitelinks is SiteLinksRdfBuilder: one schema:Article node per
// sitelink to a known site, and the site's wiki group once per dedupe bag.
func (r *Renderer) addSitelinks(subject Term, e *wikibase.Entity) {
	for i := range e.Sitelinks {
		link := &e.Sitelinks[i]
		site, ok := r.sites.lookup(link.Site)
		if !ok {
			continue
		}
		url := strings.Replace(site.LinkPath, "$1", wfURLEncode(strings.ReplaceAll(link.Title, " ", "_")), 1)
		if strings.HasPrefix(url, "//") {
			url = "http:" + url
		}
		page := absoluteIRI(url)
		lang := r.sites.language(site.Language)
		r.main.triple(page, r.t.a, r.t.article)
		r.main.triple(page, r.t.about, subject)
		r.main.triple(page, r.t.inLanguage, plain(lang))
		siteRoot := absoluteIRI(siteRootURL(url))
		r.main.triple(page, r.t.isPartOf, siteRoot)
		r.main.triple(page, r.t.name, langLiteral(link.Title, lang))
		for _, b := range link.Badges {
			r.main.triple(page, r.t.badge, r.entityTerm(b))
		}
		group := site.Group
		if group == "" {
			group = "none"
		}
		// Keyed as Wikibase keys it: the site URL as the namespace, so that no two sites
		// share a key of the bag (a hash bag keeps one hash per namespace and prefix).
		if r.startBlock(siteRoot.value, group) {
			r.sub.triple(siteRoot, r.t.wikiGroup, plain(group))
			r.endBlock()
		}
	}
}

// siteRootURL is scheme://host/ of a page URL.
func siteRootURL(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host + "/"
}

// wfURLEncode is MediaWiki's wfUrlencode: PHP urlencode (space → "+"),
// then ;@$!*(),/~: decoded again.
func wfURLEncode(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlnum(c), c == '-', c == '_', c == '.':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		case strings.IndexByte(";@$!*(),/~:", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// rawURLEncode is PHP's rawurlencode (RFC 3986: only A-Za-z0-9-_.~ stay).
func rawURLEncode(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnum(c) || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

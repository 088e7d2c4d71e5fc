package rdf

import (
	"strings"

	"github.com/entitybase/entitybase-workers/internal/wikibase"
)

// siteTable resolves global site ids to link paths, languages and groups.
type siteTable struct {
	byID      map[string]*Site
	canonical map[string]string
}

func newSiteTable(cfg *Config) *siteTable {
	t := &siteTable{byID: make(map[string]*Site, len(cfg.Sites)), canonical: cfg.CanonicalLanguageCodes}
	for i := range cfg.Sites {
		t.byID[cfg.Sites[i].ID] = &cfg.Sites[i]
	}
	return t
}

func (t *siteTable) language(code string) string {
	if c, ok := t.canonical[code]; ok {
		return c
	}
	return code
}

// addSitelinks is SiteLinksRdfBuilder: one schema:Article node per
// sitelink to a known site, and the site's wiki group once per dump.
func (r *Renderer) addSitelinks(subject Term, e *wikibase.Entity) {
	for i := range e.Sitelinks {
		link := &e.Sitelinks[i]
		site, ok := r.sites.byID[link.Site]
		if !ok {
			continue
		}
		url := strings.Replace(site.LinkPath, "$1", wfURLEncode(strings.ReplaceAll(link.Title, " ", "_")), 1)
		if strings.HasPrefix(url, "//") {
			url = "http:" + url
		}
		page := fullIRI(url)
		lang := r.sites.language(site.Language)
		r.main.triple(page, r.t.a, r.t.article)
		r.main.triple(page, r.t.about, subject)
		r.main.triple(page, r.t.inLanguage, plain(lang))
		siteRoot := fullIRI(siteRootURL(url))
		r.main.triple(page, r.t.isPartOf, siteRoot)
		r.main.triple(page, r.t.name, langLiteral(link.Title, lang))
		for _, b := range link.Badges {
			r.main.triple(page, r.t.badge, r.entityTerm(b))
		}
		if r.startBlock(dedupeSites, siteRoot.value) {
			group := site.Group
			if group == "" {
				group = "none"
			}
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

"""The one URL finder: what Masthead calls a link, for channel counting and for checks.

Two views of one text, built on the same patterns:

- `find_urls` finds links the way twitter-text's extractor does. X and Mastodon count a link as
  23 characters only where *they* see one, so channel lengths use this view and nothing else.
- `find_links` finds everything a reader could follow or type into a browser: twitter-text's
  links, plus links with any `scheme://` (ftp, sftp, ...), with a user part
  (`https://tallybook@evil.com/claim` goes to evil.com, with or without the scheme), email
  addresses, and bare domains on country TLDs (`evil.ai`). Each link carries its host, IDNA-encoded (`bücher.example` ==
  `xn--bcher-kva.example`), which is what allowed domains are compared with. Checks (grounding,
  provenance) use this view: a link the channel would not shorten is still a link to a reader.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import regex

from masthead.channels.spans import ClaimedSpans

# The `regex` package ships no type hints; these aliases say what a value is.
_Pattern = Any
_Match = Any

# -- URL detection (twitter-text's extractUrlsWithIndices) -----------------------------------
class UrlMatch(NamedTuple):
    """A URL found in a text: `text[start:end] == url`."""

    start: int
    end: int
    url: str


_MAX_URL_LENGTH = 4096  # twitter-text: longer (punycode-encoded) URLs are not links
_MAX_TCO_SLUG_LENGTH = 40

# Character classes from twitter-text's regexp/ folder.
_PUNCTUATION = r"!'#%&()*+,\\\-./:;<=>?@\[\]\^_{|}~$"
_SPACES = r"\x09-\x0D\x20\x85\xA0\u1680\u180E\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
_INVALID = r"\uFFFE\uFEFF\uFFFF"
_DIRECTIONAL_MARKS = r"\u202A-\u202E\u061C\u200E\u200F\u2066-\u2069"
_CYRILLIC = r"\u0400-\u04FF"
_LATIN_ACCENTS = (
    r"\xC0-\xD6\xD8-\xF6\xF8-\xFF\u0100-\u024F\u0253\u0254\u0256\u0257\u0259\u025B\u0263"
    r"\u0268\u026F\u0272\u0289\u028B\u02BB\u0300-\u036F\u1E00-\u1EFF"
)
# A domain may use any script (IDNs), but no punctuation, spaces or direction marks.
_DOMAIN_CHAR = rf"[^{_PUNCTUATION}{_SPACES}{_INVALID}{_DIRECTIONAL_MARKS}]"
# Labels never start or end with a hyphen; only subdomains may contain "_". Atomic groups
# keep a 10,000-character "label" from backtracking quadratically.
_SUBDOMAIN = rf"(?>{_DOMAIN_CHAR}+(?:[_-]+{_DOMAIN_CHAR}+)*)\."
_DOMAIN_NAME = rf"(?>{_DOMAIN_CHAR}+(?:-+{_DOMAIN_CHAR}+)*)\."
_PUNYCODE_TLD = r"xn--[\-0-9a-z]+"
# Path characters: a path may not end in punctuation ("see example.com/a." keeps the dot out)
# and may contain parentheses only when balanced ("wiki/Foo_(bar)" but not "(example.com/a)").
_PATH_CHAR = rf"[a-z{_CYRILLIC}0-9!*';:=+,.$/%#\[\]\-\u2013_~@|&{_LATIN_ACCENTS}]"
_BALANCED_PARENS = rf"\((?:{_PATH_CHAR}+|{_PATH_CHAR}*\({_PATH_CHAR}+\){_PATH_CHAR}*)\)"
_PATH_END = rf"(?:[+\-a-z{_CYRILLIC}0-9=_#/{_LATIN_ACCENTS}]|{_BALANCED_PARENS})"
_PATH_SEGMENT = rf"(?:{_PATH_CHAR}*(?:{_BALANCED_PARENS}{_PATH_CHAR}*)*{_PATH_END}|@{_PATH_CHAR}+/)"
_QUERY = r"\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/]"
# A URL may not be glued to a preceding letter, digit, @, $ or # ("user@example.com" is not one).
_URL_PRECEDING = r"(?<![A-Za-z0-9@＠$#＃\uFFFE\uFEFF\uFFFF])"
# twitter-text refuses a protocol-less URL right after "-", "_", "." or "/": "ftp://example.com"
# and "my_example.com" contain no link. Saying so in the pattern (rather than rejecting such
# matches afterwards) also spares it from retrying at every label of a long "a.b.c.d..." chain.
_BARE_URL_PRECEDING = r"(?:(?<![-_./])|(?=https?://))"


def find_urls(
    text: str, *, require_protocol: bool = False, include_short_domains: bool = False
) -> list[UrlMatch]:
    """URLs in `text`, found the way twitter-text finds them, in order.

    - `https://example.com/path?x=1` and `http://...` are URLs; trailing punctuation is not part.
    - Bare domains count when their TLD is a real one: `example.com`, `masthead.dev/docs`.
    - twitter-text skips a bare one-label domain on a country TLD without a path (`foo.jp`,
      `setup.py`, except `.co` and `.tv`); `include_short_domains=True` keeps those too.
    - A domain must survive IDNA encoding (labels of at most 63 characters).
    - `require_protocol=True` keeps only http(s) URLs (Mastodon's rule).
    """
    # twitter-text's own shortcut: no dot, no domain.
    if "." not in text:
        return []
    urls: list[UrlMatch] = []
    for match in _url_pattern().finditer(text):
        protocol, domain = match.group("protocol"), match.group("domain")
        if not _is_valid_url(match.group("url"), protocol, domain):
            continue
        if protocol:
            urls.extend(_protocol_url(match))
        elif not require_protocol:
            urls.extend(_bare_domain_urls(text, match, include_short_domains))
    return urls


def _is_valid_url(url: str, protocol: str | None, domain: str) -> bool:
    """twitter-text's isValidUrl: the domain must IDNA-encode, and the URL fit in 4096 chars."""
    try:
        punycode = domain.encode("idna").decode("ascii")
    except UnicodeError:  # e.g. a label longer than 63 characters once punycode-encoded
        return False
    if not punycode:
        return False
    encoded_length = len(url) + len(punycode) - len(domain)
    return len(protocol or "https://") + encoded_length <= _MAX_URL_LENGTH


def _protocol_url(match: _Match) -> list[UrlMatch]:
    start, url = match.start("url"), match.group("url")
    # t.co links are X's own: the slug ends the link ("https://t.co/abc-def" links "…/abc").
    tco = _tco_pattern().match(url)
    if tco:
        if len(tco.group("slug")) > _MAX_TCO_SLUG_LENGTH:
            return []
        url = tco.group(0)
    return [UrlMatch(start, start + len(url), url)]


def _bare_domain_urls(text: str, match: _Match, include_short_domains: bool) -> list[UrlMatch]:
    has_path = match.group("path") is not None
    domain, domain_start = match.group("domain"), match.start("domain")
    urls: list[UrlMatch] = []
    last: UrlMatch | None = None
    # Without a protocol only ASCII domains count: in "日本語example.com" the URL is "example.com".
    for ascii_domain in _ascii_domain_pattern().finditer(domain):
        last = UrlMatch(
            domain_start + ascii_domain.start(), domain_start + ascii_domain.end(), ascii_domain[0]
        )
        if has_path or include_short_domains or not _is_short_cctld_domain(last.url):
            urls.append(last)
    if last is not None and has_path:
        # The path (and query) belong to the last domain.
        end = match.end("url")
        urls[-1] = UrlMatch(last.start, end, text[last.start : end])
    return urls


def _is_short_cctld_domain(domain: str) -> bool:
    """`name.cc` with a country TLD: twitter-text does not link it without a path, except .co/.tv."""
    if _special_short_domain_pattern().match(domain):
        return False
    return _short_domain_pattern().match(domain) is not None


def _tld_alternation(names: str) -> str:
    # Longest first, and a TLD must end the domain: "example.community" is not "example.com".
    ordered = sorted(names.split(), key=len, reverse=True)
    return "(?:" + "|".join(regex.escape(name) for name in ordered) + ")(?=[^0-9a-zA-Z@+-]|$)"


@cache
def _tld() -> str:
    return (
        rf"(?:{_tld_alternation(_GENERIC_TLDS)}|{_tld_alternation(_COUNTRY_TLDS)}|{_PUNYCODE_TLD})"
    )


@cache
def _url_pattern() -> _Pattern:
    domain = rf"(?:{_SUBDOMAIN})*{_DOMAIN_NAME}{_tld()}"
    return regex.compile(
        _URL_PRECEDING + _BARE_URL_PRECEDING + r"(?P<url>"
        r"(?P<protocol>https?://)?"
        rf"(?P<domain>{domain})"
        r"(?::[0-9]+)?"  # port
        rf"(?P<path>/{_PATH_SEGMENT}*)?"
        rf"(?:{_QUERY})?"
        r")",
        regex.IGNORECASE,
    )


@cache
def _ascii_domain_pattern() -> _Pattern:
    return regex.compile(rf"(?:[\-a-z0-9{_LATIN_ACCENTS}]+\.)+{_tld()}", regex.IGNORECASE)


@cache
def _short_domain_pattern() -> _Pattern:
    return regex.compile(rf"{_DOMAIN_NAME}{_tld_alternation(_COUNTRY_TLDS)}$", regex.IGNORECASE)


@cache
def _special_short_domain_pattern() -> _Pattern:
    return regex.compile(rf"{_DOMAIN_NAME}(?:co|tv)(?=[^0-9a-zA-Z@]|$)$", regex.IGNORECASE)


@cache
def _tco_pattern() -> _Pattern:
    return regex.compile(
        r"https?://t\.co/(?P<slug>[a-z0-9]+)(?:\?[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]*[a-z0-9\-_&=#/])?",
        regex.IGNORECASE,
    )


# -- What a reader can follow ------------------------------------------------------------------
class Link(NamedTuple):
    """A link a reader could follow: `text[start:end] == url`; `host` is IDNA-encoded and
    lower-case ("" when the link names none); `key` is its normal form for comparisons."""

    start: int
    end: int
    url: str
    host: str
    key: str


# Any scheme followed by "//": https, ftp, sftp, ssh, ... (not "mailto:" or "tel:", which are
# found as email addresses or are not links). The link runs to the next space or quote.
_SCHEME_LINK = regex.compile(r"(?<![\w+.\-])(?P<scheme>[a-z][a-z0-9+.\-]{0,19})://[^\s<>\"'`]+", regex.IGNORECASE)
# "user@host" with a known TLD, optionally followed by a path: an email address, or (with a
# path) a link whose user part a browser drops. A "@name@host" Mastodon mention is not one.
_USER_AT_HOST = r"(?<![\w.+\-@/])[\w.+\-]+@(?P<host>(?:[\w\-]+\.)+{tld})(?P<path>/[^\s<>\"'`]*)?"
_TRAILING = ".,;:!?'\")]}>*"


def find_links(text: str) -> list[Link]:
    """Every link a reader could follow in `text`, in order (see the module docstring)."""
    links: list[Link] = []
    taken = ClaimedSpans()

    def add(link: Link | None) -> None:
        if link is not None and taken.claim(link.start, link.end):
            links.append(link)

    twitter = {url.start: url for url in find_urls(text, include_short_domains=True)}
    for match in _SCHEME_LINK.finditer(text):
        add(_scheme_link(match, twitter.get(match.start())))
    for match in _user_at_host_pattern().finditer(text):
        add(_user_at_host_link(match))
    for url in twitter.values():
        link = _link(url.start, url.url)
        if link is None:
            continue
        if taken.claim(link.start, link.end):
            links.append(link)
        elif not any(other.start <= link.start and link.end <= other.end for other in links):
            # "x.dev/https://a": a reader may follow x.dev (twitter-text links it) as well as the
            # https://a inside its path; both go to a host that must be checked, so both are kept.
            links.append(link)
    return sorted(links)


def _scheme_link(match: _Match, twitter: UrlMatch | None) -> Link | None:
    url = _trim(match[0])
    authority = url.split("//", 1)[1].split("/", 1)[0]
    plain_web = match.group("scheme").lower() in ("http", "https") and not regex.search(r"[@\\]", authority)
    if plain_web and twitter is not None:
        # twitter-text's path rules know where an ordinary web link ends ("...(see a.dev/x)").
        url = twitter.url
    return _link(match.start(), url)


def _user_at_host_link(match: _Match) -> Link | None:
    url = _trim(match[0]) if match.group("path") else match[0]
    if not match.group("path"):  # an email address: the host is where mail goes
        return Link(match.start(), match.end(), url, _idna(match.group("host")), "mailto:" + url.lower())
    return _link(match.start(), url)


def _trim(url: str) -> str:
    """Trailing punctuation ends a sentence, not a link; a ")" stays when it closes a "(" inside."""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


_SCHEME_PREFIX = regex.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")


def _link(start: int, url: str) -> Link | None:
    # Only a real scheme (RFC 3986: letters, digits, + - .) starts a URL: in "x.dev/https://a"
    # the "://" sits in the path, and the reader goes to x.dev.
    prefix = _SCHEME_PREFIX.match(url)
    scheme, rest = (prefix.group(1), url[prefix.end():]) if prefix else ("", url)
    # Browsers read "\" as "/" in web links: "https://evil.com\@good.com" goes to evil.com.
    parts = urlsplit("//" + rest.replace("\\", "/"))
    try:
        host = parts.hostname or ""
    except ValueError:  # e.g. an unbalanced "[" where an IPv6 address would be
        return None
    host = _idna(host)
    userinfo = parts.netloc.rpartition("@")[0]
    port = f":{parts.port}" if _has_port(parts) else ""
    location = (parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else ""))
    key = (f"{userinfo}@" if userinfo else "") + regex.sub(r"^www\.", "", host) + port + location
    if scheme and scheme.lower() not in ("http", "https"):
        key = f"{scheme}://{key}"
    return Link(start, start + len(url), url, host, key.lower().rstrip("/"))


def _has_port(parts: Any) -> bool:
    try:
        return parts.port is not None
    except ValueError:  # a port that is not a number is part of what the reader sees
        return False


def _idna(host: str) -> str:
    """The ASCII (punycode) form of a host name, so "bücher.example" == "xn--bcher-kva.example"."""
    host = host.lower().rstrip(".")
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid IDN (e.g. a label over 63 characters): compare as written
        return host


def host_of(domain: str) -> str:
    """A domain as the allowed-domain rules compare it: IDNA, lower case, no "www."."""
    return regex.sub(r"^www\.", "", _idna(domain.strip()))


def is_within(host: str, domains: frozenset[str] | set[str]) -> bool:
    """True when `host` is one of `domains` or a subdomain of one ("docs.a.dev" is within "a.dev")."""
    host = host_of(host)
    return any(host == domain or host.endswith("." + domain) for domain in domains)


@cache
def _user_at_host_pattern() -> _Pattern:
    return regex.compile(_USER_AT_HOST.format(tld=_tld()), regex.IGNORECASE)


# -- TLD lists -------------------------------------------------------------------------------
# From twitter-text's conformance/tld_lib.yml (IANA root zone), as twitter-text-parser 3.0.0
# ships them. A bare "name.tld" is a link on X only when tld is in one of these lists.
_COUNTRY_TLDS = """
ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq
br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz
ec ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw
gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz
la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx
my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro
rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk
tl tm tn to tp tr tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw ελ
ευ бг бел ею мкд мон рф срб укр қаз հայ الاردن البحرين الجزائر السعودية المغرب امارات ایران بارت
بھارت تونس سودان سورية عراق عمان فلسطين قطر مصر مليسيا موريتانيا پاکستان ڀارت भारत भारतम् भारोत
বাংলা ভারত ভাৰত ਭਾਰਤ ભારત ଭାରତ இந்தியா இலங்கை சிங்கப்பூர் భారత్ ಭಾರತ ഭാരതം ලංකා ไทย ລາວ გე 中国 中國
台湾 台灣 新加坡 澳門 香港 한국
"""
_GENERIC_TLDS = """
aaa aarp abarth abb abbott abbvie abc able abogado abudhabi academy accenture accountant
accountants aco active actor adac ads adult aeg aero aetna afamilycompany afl africa agakhan
agency aig aigo airbus airforce airtel akdn alfaromeo alibaba alipay allfinanz allstate ally
alsace alstom americanexpress americanfamily amex amfam amica amsterdam analytics android anquan
anz aol apartments app apple aquarelle arab aramco archi army arpa art arte asda asia associates
athleta attorney auction audi audible audio auspost author auto autos avianca aws axa azure baby
baidu banamex bananarepublic band bank bar barcelona barclaycard barclays barefoot bargains
baseball basketball bauhaus bayern bbc bbt bbva bcg bcn beats beauty beer bentley berlin best
bestbuy bet bharti bible bid bike bing bingo bio biz black blackfriday blanco blockbuster blog
bloomberg blue bms bmw bnl bnpparibas boats boehringer bofa bom bond boo book booking boots
bosch bostik boston bot boutique box bradesco bridgestone broadway broker brother brussels
budapest bugatti build builders business buy buzz bzh cab cafe cal call calvinklein cam camera
camp cancerresearch canon capetown capital capitalone car caravan cards care career careers cars
cartier casa case caseih cash casino cat catering catholic cba cbn cbre cbs ceb center ceo cern
cfa cfd chanel channel charity chase chat cheap chintai chloe christmas chrome chrysler church
cipriani circle cisco citadel citi citic city cityeats claims cleaning click clinic clinique
clothing cloud club clubmed coach codes coffee college cologne com comcast commbank community
company compare computer comsec condos construction consulting contact contractors cooking
cookingchannel cool coop corsica country coupon coupons courses cpa credit creditcard
creditunion cricket crown crs cruise cruises csc cuisinella cymru cyou dabur dad dance data date
dating datsun day dclk dds deal dealer deals degree delivery dell deloitte delta democrat dental
dentist desi design dev dhl diamonds diet digital direct directory discount discover dish diy
dnp docs doctor dodge dog doha domains doosan dot download drive dtv dubai duck dunlop duns
dupont durban dvag dvr earth eat eco edeka edu education email emerck energy engineer
engineering enterprises epost epson equipment ericsson erni esq estate esurance etisalat
eurovision eus events everbank exchange expert exposed express extraspace fage fail fairwinds
faith family fan fans farm farmers fashion fast fedex feedback ferrari ferrero fiat fidelity
fido film final finance financial fire firestone firmdale fish fishing fit fitness flickr
flights flir florist flowers flsmidth fly foo food foodnetwork football ford forex forsale forum
foundation fox free fresenius frl frogans frontdoor frontier ftr fujitsu fujixerox fun fund
furniture futbol fyi gal gallery gallo gallup game games gap garden gay gbiz gdn gea gent
genting george ggee gift gifts gives giving glade glass gle global globo gmail gmbh gmo gmx
godaddy gold goldpoint golf goo goodhands goodyear goog google gop got gov grainger graphics
gratis green gripe grocery group guardian gucci guge guide guitars guru hair hamburg hangout
haus hbo hdfc hdfcbank health healthcare help helsinki here hermes hgtv hiphop hisamitsu hitachi
hiv hkt hockey holdings holiday homedepot homegoods homes homesense honda honeywell horse
hospital host hosting hot hoteles hotels hotmail house how hsbc htc hughes hyatt hyundai ibm
icbc ice icu ieee ifm iinet ikano imamat imdb immo immobilien inc industries infiniti info ing
ink institute insurance insure int intel international intuit investments ipiranga irish iselect
ismaili ist istanbul itau itv iveco iwc jaguar java jcb jcp jeep jetzt jewelry jio jlc jll jmp
jnj jobs joburg jot joy jpmorgan jprs juegos juniper kaufen kddi kerryhotels kerrylogistics
kerryproperties kfh kia kim kinder kindle kitchen kiwi koeln komatsu kosher kpmg kpn krd kred
kuokgroup kyoto lacaixa ladbrokes lamborghini lamer lancaster lancia lancome land landrover
lanxess lasalle lat latino latrobe law lawyer lds lease leclerc lefrak legal lego lexus lgbt
liaison lidl life lifeinsurance lifestyle lighting like lilly limited limo lincoln linde link
lipsy live living lixil llc llp loan loans locker locus loft lol london lotte lotto love lpl
lplfinancial ltd ltda lundbeck lupin luxe luxury macys madrid maif maison makeup man management
mango map market marketing markets marriott marshalls maserati mattel mba mcd mcdonalds mckinsey
med media meet melbourne meme memorial men menu meo merckmsd metlife miami microsoft mil mini
mint mit mitsubishi mlb mls mma mobi mobile mobily moda moe moi mom monash money monster
montblanc mopar mormon mortgage moscow moto motorcycles mov movie movistar msd mtn mtpc mtr
museum mutual mutuelle nab nadex nagoya name nationwide natura navy nba nec net netbank netflix
network neustar new newholland news next nextdirect nexus nfl ngo nhk nico nike nikon ninja
nissan nissay nokia northwesternmutual norton now nowruz nowtv nra nrw ntt nyc obi observer off
office okinawa olayan olayangroup oldnavy ollo omega one ong onion onl online onyourside ooo
open oracle orange org organic orientexpress origins osaka otsuka ott ovh page pamperedchef
panasonic panerai paris pars partners parts party passagens pay pccw pet pfizer pharmacy phd
philips phone photo photography photos physio piaget pics pictet pictures pid pin ping pink
pioneer pizza place play playstation plumbing plus pnc pohl poker politie porn post pramerica
praxi press prime pro prod productions prof progressive promo properties property protection pru
prudential pub pwc qpon quebec quest qvc racing radio raid read realestate realtor realty
recipes red redstone redumbrella rehab reise reisen reit reliance ren rent rentals repair report
republican rest restaurant review reviews rexroth rich richardli ricoh rightathome ril rio rip
rmit rocher rocks rodeo rogers room rsvp rugby ruhr run rwe ryukyu saarland safe safety sakura
sale salon samsclub samsung sandvik sandvikcoromant sanofi sap sapo sarl sas save saxo sbi sbs
sca scb schaeffler schmidt scholarships school schule schwarz science scjohnson scor scot search
seat secure security seek select sener services ses seven sew sex sexy sfr shangrila sharp shaw
shell shia shiksha shoes shop shopping shouji show showtime shriram silk sina singles site ski
skin sky skype sling smart smile sncf soccer social softbank software sohu solar solutions song
sony soy space spiegel sport spot spreadbetting srl srt stada staples star starhub statebank
statefarm statoil stc stcgroup stockholm storage store stream studio study style sucks supplies
supply support surf surgery suzuki swatch swiftcover swiss sydney symantec systems tab taipei
talk taobao target tatamotors tatar tattoo tax taxi tci tdk team tech technology tel telecity
telefonica temasek tennis teva thd theater theatre tiaa tickets tienda tiffany tips tires tirol
tjmaxx tjx tkmaxx tmall today tokyo tools top toray toshiba total tours town toyota toys trade
trading training travel travelchannel travelers travelersinsurance trust trv tube tui tunes
tushu tvs ubank ubs uconnect unicom university uno uol ups vacations vana vanguard vegas
ventures verisign versicherung vet viajes video vig viking villas vin vip virgin visa vision
vista vistaprint viva vivo vlaanderen vodka volkswagen volvo vote voting voto voyage vuelos
wales walmart walter wang wanggou warman watch watches weather weatherchannel webcam weber
website wed wedding weibo weir whoswho wien wiki williamhill win windows wine winners wme
wolterskluwer woodside work works world wow wtc wtf xbox xerox xfinity xihuan xin xperia xxx xyz
yachts yahoo yamaxun yandex yodobashi yoga yokohama you youtube yun zappos zara zero zip zippo
zone zuerich vermögensberater vermögensberatung дети католик ком москва онлайн орг рус сайт קום
ابوظبي اتصالات ارامكو العليان بازار بيتك شبكة عرب كاثوليك كوم موبايلي موقع همراه कॉम नेट संगठन
คอม みんな クラウド グーグル コム ストア セール ファッション ポイント 世界 中信 中文网 企业 佛山 信息 健康 八卦 公司 公益 商城 商店 商标 嘉里 嘉里大酒店 在线
大众汽车 大拿 天主教 娱乐 家電 工行 广东 微博 慈善 我爱你 手机 手表 招聘 政务 政府 新闻 时尚 書籍 机构 淡马锡 游戏 点看 珠宝 移动 组织机构 网址 网店 网站 网络 联通
诺基亚 谷歌 购物 通販 集团 電訊盈科 飞利浦 食品 餐厅 香格里拉 닷넷 닷컴 삼성
"""

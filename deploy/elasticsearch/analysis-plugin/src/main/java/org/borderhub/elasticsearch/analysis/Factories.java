package org.borderhub.elasticsearch.analysis;

import java.util.List;
import java.util.Locale;
import java.util.function.IntPredicate;
import java.util.function.UnaryOperator;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterGraphFilter;
import org.apache.lucene.analysis.miscellaneous.WordDelimiterIterator;
import org.apache.lucene.analysis.ngram.EdgeNGramTokenizer;
import org.apache.lucene.analysis.ngram.NGramTokenizer;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.NormalizingTokenFilterFactory;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;

/** Small factories shared by the registrations in {@link BorderhubAnalysisPlugin}. */
final class Factories {
    private Factories() {}

    /** A filter that may not appear in a normalizer (it can add, drop or split tokens). */
    record Plain(String name, UnaryOperator<TokenStream> filter) implements TokenFilterFactory {
        @Override
        public TokenStream create(TokenStream in) {
            return filter.apply(in);
        }
    }

    /** A one-token-in, one-token-out filter: usable in normalizers and for keyword/wildcard queries. */
    record Normalizing(String name, UnaryOperator<TokenStream> filter, UnaryOperator<TokenStream> normalizer)
        implements NormalizingTokenFilterFactory {
        @Override
        public TokenStream create(TokenStream in) {
            return filter.apply(in);
        }

        @Override
        public TokenStream normalize(TokenStream in) {
            return normalizer.apply(in);
        }
    }

    static Normalizing normalizing(String name, UnaryOperator<TokenStream> filter) {
        return new Normalizing(name, filter, filter);
    }

    /** Same guard as upstream (index.max_ngram_diff), so an index accepted here is accepted there too. */
    static void checkNgramDiff(IndexSettings idx, int min, int max) {
        if (max - min > idx.getMaxNgramDiff()) {
            throw new IllegalArgumentException("The difference between max_gram and min_gram in NGram Tokenizer must be "
                + "less than or equal to: [" + idx.getMaxNgramDiff() + "] but was [" + (max - min) + "]. This limit can be "
                + "set by changing the [" + IndexSettings.MAX_NGRAM_DIFF_SETTING.getKey() + "] index level setting.");
        }
    }

    static TokenizerFactory ngramTokenizer(IndexSettings idx, String name, Settings s, boolean edge) {
        int min = s.getAsInt("min_gram", 1), max = s.getAsInt("max_gram", 2);
        if (edge == false) {
            checkNgramDiff(idx, min, max);
        }
        IntPredicate tokenChar = tokenChars(s);
        return TokenizerFactory.newFactory(name, () -> edge
            ? new EdgeNGramTokenizer(min, max) {
                @Override
                protected boolean isTokenChar(int c) {
                    return tokenChar.test(c);
                }
            }
            : new NGramTokenizer(min, max) {
                @Override
                protected boolean isTokenChar(int c) {
                    return tokenChar.test(c);
                }
            });
    }

    /** token_chars: the character classes that make up a token; empty means every character. */
    private static IntPredicate tokenChars(Settings s) {
        List<String> classes = s.getAsList("token_chars");
        IntPredicate any = c -> classes.isEmpty();
        for (String cls : classes) {
            IntPredicate p = switch (cls.toLowerCase(Locale.ROOT)) {
                case "letter" -> Character::isLetter;
                case "digit" -> Character::isDigit;
                case "whitespace" -> Character::isWhitespace;
                case "punctuation" -> c -> switch (Character.getType(c)) {
                    case Character.START_PUNCTUATION, Character.END_PUNCTUATION, Character.OTHER_PUNCTUATION,
                        Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                        Character.FINAL_QUOTE_PUNCTUATION -> true;
                    default -> false;
                };
                case "symbol" -> c -> switch (Character.getType(c)) {
                    case Character.CURRENCY_SYMBOL, Character.MATH_SYMBOL, Character.OTHER_SYMBOL,
                        Character.MODIFIER_SYMBOL -> true;
                    default -> false;
                };
                case "custom" -> {
                    String chars = s.get("custom_token_chars");
                    if (chars == null) {
                        throw new IllegalArgumentException("Token type: [custom] requires setting [custom_token_chars]");
                    }
                    yield c -> chars.indexOf(c) >= 0;
                }
                default -> throw new IllegalArgumentException("Unknown token type: '" + cls
                    + "', must be one of [symbol, digit, punctuation, letter, whitespace, custom]");
            };
            any = any.or(p);
        }
        return any;
    }

    /** word_delimiter(_graph) with the upstream boolean options and protected_words(_path). */
    @SuppressWarnings("deprecation") // WordDelimiterFilter: Lucene deprecates it, but `word_delimiter` still means it
    static TokenFilterFactory wordDelimiter(Environment env, String name, Settings s, boolean graph) {
        if (s.get("type_table") != null || s.get("type_table_path") != null) {
            // Not implemented: refusing beats silently tokenising differently from the official image.
            throw new IllegalArgumentException("[" + name + "]: type_table is not supported by the borderhub-analysis plugin");
        }
        int flags = flag(s, "generate_word_parts", true, WordDelimiterGraphFilter.GENERATE_WORD_PARTS)
            | flag(s, "generate_number_parts", true, WordDelimiterGraphFilter.GENERATE_NUMBER_PARTS)
            | flag(s, "catenate_words", false, WordDelimiterGraphFilter.CATENATE_WORDS)
            | flag(s, "catenate_numbers", false, WordDelimiterGraphFilter.CATENATE_NUMBERS)
            | flag(s, "catenate_all", false, WordDelimiterGraphFilter.CATENATE_ALL)
            | flag(s, "split_on_case_change", true, WordDelimiterGraphFilter.SPLIT_ON_CASE_CHANGE)
            | flag(s, "preserve_original", false, WordDelimiterGraphFilter.PRESERVE_ORIGINAL)
            | flag(s, "split_on_numerics", true, WordDelimiterGraphFilter.SPLIT_ON_NUMERICS)
            | flag(s, "stem_english_possessive", true, WordDelimiterGraphFilter.STEM_ENGLISH_POSSESSIVE)
            | flag(s, "ignore_keywords", false, WordDelimiterGraphFilter.IGNORE_KEYWORDS);
        CharArraySet protectedWords = Analysis.getWordSet(env, s, "protected_words");
        byte[] table = WordDelimiterIterator.DEFAULT_WORD_DELIM_TABLE;
        boolean adjustOffsets = s.getAsBoolean("adjust_offsets", true);
        return new Plain(name, in -> graph
            ? new WordDelimiterGraphFilter(in, adjustOffsets, table, flags, protectedWords)
            : new WordDelimiterFilter(in, table, flags, protectedWords));
    }

    private static int flag(Settings s, String key, boolean dflt, int bit) {
        return s.getAsBoolean(key, dflt) ? bit : 0;
    }
}

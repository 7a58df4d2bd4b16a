-- engram demo: a few hundred English sentences on twenty topics, remembered
-- with engram.embed_text embeddings (a LEXICAL feature-hashing embedder:
-- texts are close when they share words, not meaning), then recalled by
-- text, by embedding and by both; then updated, superseded, stored under
-- keys, expired and kept in core memory blocks.
--
--   psql -v ON_ERROR_STOP=1 -f test/scripts/demo_sample.sql
--
-- Re-running it starts the 'demo' space afresh.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;

SELECT engram.drop_space('demo', cascade => true) FROM engram.space WHERE name = 'demo';
SELECT engram.create_space('demo', 384);

CREATE TEMP TABLE demo_sentences (topic text, n int, sentence text);
INSERT INTO demo_sentences
SELECT t.topic, s.n, s.sentence
FROM (VALUES
('astronomy', ARRAY[
 'The Moon orbits the Earth about once every twenty-seven days.',
 'Jupiter is the largest planet in the solar system.',
 'A light year is the distance light travels in one year.',
 'The Sun is a medium-sized star about halfway through its life.',
 'Saturn''s rings are made mostly of ice and rock.',
 'Mars has the tallest volcano in the solar system, Olympus Mons.',
 'A total solar eclipse happens when the Moon covers the Sun completely.',
 'The Milky Way galaxy contains hundreds of billions of stars.',
 'Telescopes on mountains see the stars through thinner air.',
 'A comet grows a bright tail when it comes close to the Sun.',
 'Black holes bend light with their enormous gravity.',
 'Venus is the hottest planet because of its thick carbon dioxide atmosphere.',
 'The International Space Station circles the Earth every ninety minutes.',
 'Astronomers find exoplanets by watching stars dim as planets pass in front.',
 'Meteor showers happen when the Earth crosses the dust trail of a comet.']),
('cooking', ARRAY[
 'Bread dough must rest so the yeast can make it rise.',
 'Searing meat in a hot pan browns the surface and adds flavour.',
 'A pinch of salt makes sweet desserts taste richer.',
 'Risotto needs hot stock added slowly while stirring.',
 'Fresh pasta cooks in two or three minutes in boiling water.',
 'Caramel forms when sugar is heated until it turns brown.',
 'Marinating chicken in yogurt keeps it tender on the grill.',
 'A sharp knife is safer than a dull one in the kitchen.',
 'Soup tastes better the next day after the flavours blend.',
 'Baking soda needs an acid such as buttermilk to make cakes rise.',
 'Roasting vegetables at high heat makes their edges crisp.',
 'Whisking egg whites traps air and makes a light meringue.',
 'Let a steak rest after cooking so the juices stay inside.',
 'Garlic burns quickly, so add it to the pan near the end.',
 'A sourdough starter is a living culture of wild yeast and bacteria.']),
('gardening', ARRAY[
 'Tomatoes need full sun and regular watering to ripen well.',
 'Compost turns kitchen scraps into rich soil for the garden.',
 'Prune roses in late winter before new growth begins.',
 'Earthworms loosen the soil and help roots find air and water.',
 'Plant garlic cloves in autumn for a harvest next summer.',
 'Mulch keeps the soil moist and stops weeds from growing.',
 'Bees pollinate the flowers of fruit trees in spring.',
 'Seedlings grown indoors must be hardened off before planting outside.',
 'Basil grows quickly in warm weather and hates the cold.',
 'Rotate vegetable crops each year to keep the soil healthy.',
 'Water the garden early in the morning to reduce evaporation.',
 'Slugs eat young lettuce leaves on damp nights.',
 'Lavender likes dry, sandy soil and lots of sunshine.',
 'Climbing beans need a tall frame or poles to grow on.',
 'Apple trees are grafted onto rootstock that controls their size.']),
('ocean', ARRAY[
 'Ocean tides are caused mainly by the gravity of the Moon.',
 'The Pacific is the largest and deepest of the oceans.',
 'Coral reefs are built by tiny animals called polyps.',
 'Whales communicate with songs that travel far under water.',
 'The Mariana Trench is the deepest known point in the ocean.',
 'Sea water is salty because rivers carry minerals into the sea.',
 'The Gulf Stream carries warm water across the Atlantic Ocean.',
 'Octopuses can change colour to hide from predators.',
 'Most of the oxygen we breathe is produced by ocean plankton.',
 'Sea turtles return to the beach where they hatched to lay eggs.',
 'Rising ocean temperatures cause coral reefs to bleach.',
 'Waves are formed by wind blowing across the surface of the sea.',
 'Sharks have existed for more than four hundred million years.',
 'Deep sea fish make their own light in the dark water.',
 'Kelp forests grow quickly in cold coastal waters.']),
('history', ARRAY[
 'The Roman Empire built roads that connected distant provinces.',
 'The printing press spread books across Europe in the fifteenth century.',
 'The pyramids of Giza were built as tombs for Egyptian pharaohs.',
 'The Great Wall of China was built over many centuries.',
 'The French Revolution began in 1789 with the storming of the Bastille.',
 'The Industrial Revolution started in Britain with steam engines and factories.',
 'The Berlin Wall fell in 1989 and Germany reunited a year later.',
 'Ancient Athens is often called the birthplace of democracy.',
 'The Silk Road carried trade between China and the Mediterranean.',
 'The Vikings sailed as far as North America around the year 1000.',
 'Magna Carta limited the power of the English king in 1215.',
 'The first moon landing took place in July 1969.',
 'The Black Death killed a third of Europe''s population in the fourteenth century.',
 'The Renaissance revived interest in classical art and learning.',
 'Christopher Columbus crossed the Atlantic in 1492.']),
('music', ARRAY[
 'A piano has eighty-eight keys, black and white.',
 'Beethoven kept composing after he became deaf.',
 'A symphony orchestra has strings, woodwinds, brass and percussion.',
 'Jazz grew out of blues and ragtime in New Orleans.',
 'The guitar has six strings tuned to E, A, D, G, B and E.',
 'Practising scales every day improves finger technique on the piano.',
 'A metronome helps musicians keep a steady tempo.',
 'Mozart wrote his first symphony when he was eight years old.',
 'The violin is the smallest and highest instrument of the string family.',
 'Drummers keep the rhythm that holds a band together.',
 'An opera tells a story through singing and orchestral music.',
 'Vinyl records came back into fashion among music collectors.',
 'The blues often follows a twelve-bar chord pattern.',
 'A choir sings in parts: soprano, alto, tenor and bass.',
 'Electronic music is made with synthesizers and drum machines.']),
('programming', ARRAY[
 'A compiler translates source code into machine code.',
 'Unit tests catch bugs before the code reaches production.',
 'Git records every change to the source code in commits.',
 'A memory leak happens when a program never frees memory it allocated.',
 'Recursion is a function calling itself on a smaller problem.',
 'Python uses indentation to mark blocks of code.',
 'A race condition appears when two threads change shared data at once.',
 'Code review helps a team share knowledge and find mistakes.',
 'A hash table finds values by key in constant time on average.',
 'Rust prevents many memory bugs at compile time.',
 'Refactoring improves the structure of code without changing its behaviour.',
 'A debugger lets you pause a program and inspect its variables.',
 'Continuous integration builds and tests every commit automatically.',
 'Off-by-one errors are a classic source of bugs in loops.',
 'Writing clear variable names makes code easier to read.']),
('databases', ARRAY[
 'Postgres writes every change to the write-ahead log before the data files.',
 'An index lets the database find rows without scanning the whole table.',
 'A transaction either commits completely or rolls back completely.',
 'VACUUM removes dead row versions left behind by updates and deletes.',
 'Replication sends the write-ahead log to a standby server.',
 'A primary key uniquely identifies each row in a table.',
 'Foreign keys keep references between tables consistent.',
 'The query planner chooses between index scans and sequential scans.',
 'MVCC lets readers and writers work without blocking each other.',
 'A hot standby can answer read-only queries during recovery.',
 'Backups are only useful if you regularly test restoring them.',
 'A GIN index speeds up full text search in Postgres.',
 'Checkpoints flush dirty pages from shared buffers to disk.',
 'Deadlocks happen when two transactions wait for each other''s locks.',
 'Vector search finds the nearest embeddings to a query vector.']),
('health', ARRAY[
 'Regular exercise strengthens the heart and lungs.',
 'Adults need seven to nine hours of sleep each night.',
 'Drinking enough water helps the body regulate its temperature.',
 'Vegetables and fruit provide vitamins and fibre.',
 'Washing hands with soap stops many infections from spreading.',
 'Vaccines train the immune system to recognise a virus.',
 'Stretching after a run helps muscles recover.',
 'Too much sugar increases the risk of tooth decay.',
 'Sunscreen protects the skin from ultraviolet radiation.',
 'Walking thirty minutes a day lowers blood pressure.',
 'Stress can make it harder to fall asleep at night.',
 'Calcium and vitamin D keep bones strong.',
 'A balanced breakfast gives energy for the morning.',
 'Smoking damages the lungs and the blood vessels.',
 'Meditation can reduce anxiety and improve focus.']),
('sports', ARRAY[
 'A marathon is forty-two kilometres long.',
 'Football teams have eleven players on the field.',
 'Tennis players serve from behind the baseline.',
 'The Olympic Games are held every four years.',
 'Basketball was invented by James Naismith in 1891.',
 'Cyclists in the Tour de France ride through the Alps and the Pyrenees.',
 'A goalkeeper is the only football player allowed to use hands.',
 'Swimmers turn at the wall with a tumble turn.',
 'Cricket matches can last as long as five days.',
 'A hat trick means scoring three goals in one game.',
 'Rock climbers use ropes and harnesses for safety.',
 'Golfers try to finish each hole in as few strokes as possible.',
 'Sprinters start the race from blocks on the track.',
 'Rugby players pass the ball backwards, never forwards.',
 'Skiers race downhill through gates on the slalom course.']),
('travel', ARRAY[
 'Lisbon is built on seven hills above the Tagus river.',
 'A passport must be valid for months after you travel.',
 'Night trains let you sleep while crossing the country.',
 'Kyoto has more than a thousand Buddhist temples.',
 'Pack light so you can carry your bag up stairs.',
 'Venice has canals instead of streets and boats instead of cars.',
 'Booking flights early is usually cheaper.',
 'Iceland has hot springs, glaciers and black sand beaches.',
 'Learning a few words of the local language makes travel easier.',
 'Jet lag is worse when flying east.',
 'The Grand Canyon was carved by the Colorado River.',
 'Travel insurance covers lost luggage and medical costs.',
 'Hostels are a cheap place to sleep and meet other travellers.',
 'Machu Picchu sits high in the Andes mountains of Peru.',
 'Street food markets are a good way to taste local dishes.']),
('weather', ARRAY[
 'Thunderstorms form when warm moist air rises quickly.',
 'Hurricanes draw their energy from warm ocean water.',
 'Fog forms when air near the ground cools to its dew point.',
 'Snowflakes are ice crystals with six sides.',
 'A barometer measures air pressure to forecast the weather.',
 'Rainbows appear when sunlight passes through raindrops.',
 'Tornadoes are spinning columns of air reaching the ground.',
 'Lightning is a huge electric spark between clouds and ground.',
 'Weather forecasts use computer models of the atmosphere.',
 'Monsoon rains arrive in India in early summer.',
 'Frost forms on clear, calm nights when the ground cools.',
 'Hail grows as raindrops freeze inside tall storm clouds.',
 'A heat wave is a long period of unusually hot weather.',
 'Wind blows from high pressure towards low pressure.',
 'Drought happens when little rain falls for a long time.']),
('animals', ARRAY[
 'The cat sat on the warm mat by the fire.',
 'Dogs were domesticated from wolves thousands of years ago.',
 'Elephants remember water holes across huge distances.',
 'Owls hunt at night with silent wings and sharp hearing.',
 'Honeybees dance to tell each other where flowers are.',
 'Penguins cannot fly but swim very fast.',
 'Cheetahs are the fastest land animals over short distances.',
 'Crows can solve puzzles and use tools.',
 'A black cat chased a small mouse across the kitchen.',
 'Salmon swim upstream to lay their eggs.',
 'Bats find insects in the dark using echolocation.',
 'Giraffes have the same number of neck bones as humans.',
 'Ants work together to carry food back to the nest.',
 'Parrots can learn to copy human speech.',
 'Hedgehogs roll into a ball when they are frightened.']),
('finance', ARRAY[
 'Interest rates rise when the central bank tightens policy.',
 'Diversifying investments spreads risk across many assets.',
 'The stock market fell sharply on Monday morning.',
 'Inflation reduces what a fixed amount of money can buy.',
 'A budget tracks income and spending each month.',
 'Compound interest makes savings grow faster over time.',
 'Bonds pay regular interest until they mature.',
 'An emergency fund should cover several months of expenses.',
 'Index funds follow the whole market at low cost.',
 'Credit card debt often carries a high interest rate.',
 'Companies report their earnings every quarter.',
 'A mortgage is a loan secured by a house.',
 'Exchange rates change the price of imported goods.',
 'Pension savings benefit from starting early.',
 'Shares give investors part ownership of a company.']),
('art', ARRAY[
 'Leonardo da Vinci painted the Mona Lisa.',
 'Impressionist painters worked outdoors to capture changing light.',
 'Van Gogh painted The Starry Night in 1889.',
 'Sculptors carve marble with chisels and hammers.',
 'Watercolour paint is thinned with water and dries quickly.',
 'Picasso helped invent cubism with Georges Braque.',
 'Museums restore old paintings with great care.',
 'Perspective makes a flat painting look three-dimensional.',
 'Photography changed how artists thought about realism.',
 'Street art turns city walls into public galleries.',
 'Pottery is shaped on a wheel and fired in a kiln.',
 'The Sistine Chapel ceiling was painted by Michelangelo.',
 'Colour theory explains how colours mix and contrast.',
 'Charcoal is a good medium for quick sketches.',
 'Mosaics are made from small pieces of coloured glass or stone.']),
('geology', ARRAY[
 'Volcanoes erupt when magma rises through the crust.',
 'Earthquakes happen when tectonic plates slip past each other.',
 'Granite forms from magma that cools slowly underground.',
 'Fossils are usually found in sedimentary rock.',
 'Glaciers carve deep U-shaped valleys in mountains.',
 'The Himalayas are still rising as India pushes into Asia.',
 'Iceland sits on the Mid-Atlantic Ridge where plates pull apart.',
 'Caves form when water dissolves limestone over thousands of years.',
 'Diamonds are carbon crushed under great pressure deep in the Earth.',
 'Lava that cools quickly forms black glassy obsidian.',
 'Rivers carry sand and mud that settle as new layers of rock.',
 'Geysers shoot hot water into the air from underground.',
 'The Earth''s core is made mostly of iron and nickel.',
 'A tsunami can follow a large earthquake under the sea.',
 'Mountains wear down slowly through erosion by wind and water.']),
('trains', ARRAY[
 'The train to Porto leaves at nine from platform four.',
 'High speed trains in Japan are called Shinkansen.',
 'Steam locomotives burned coal to boil water.',
 'The Channel Tunnel connects England and France by rail.',
 'Freight trains carry containers from ports to inland cities.',
 'A sleeper carriage has beds for overnight journeys.',
 'Signals keep trains a safe distance apart on the line.',
 'The Trans-Siberian Railway crosses Russia from Moscow to Vladivostok.',
 'Electric trains draw power from overhead wires.',
 'Rail travel produces less carbon than flying.',
 'The London Underground is the oldest metro in the world.',
 'Trams share the street with cars and bicycles.',
 'A delayed train made me miss my connection in Madrid.',
 'Maglev trains float above the track on magnets.',
 'Railway stations were grand buildings in the nineteenth century.']),
('chemistry', ARRAY[
 'Water is made of two hydrogen atoms and one oxygen atom.',
 'The periodic table arranges elements by atomic number.',
 'Acids turn blue litmus paper red.',
 'Rust forms when iron reacts with oxygen and water.',
 'Catalysts speed up reactions without being used up.',
 'Salt dissolves in water but oil does not.',
 'Carbon forms the backbone of organic molecules.',
 'Noble gases rarely react with other elements.',
 'Burning fuel releases energy stored in chemical bonds.',
 'Baking soda and vinegar react to release carbon dioxide.',
 'Gold does not tarnish because it hardly reacts with air.',
 'Batteries store energy as chemical potential.',
 'Polymers are long chains of repeating molecules.',
 'The pH scale measures how acidic or basic a solution is.',
 'Distillation separates liquids by their boiling points.']),
('literature', ARRAY[
 'Shakespeare wrote Hamlet around the year 1600.',
 'Don Quixote is often called the first modern novel.',
 'Poetry uses rhythm and imagery to compress meaning.',
 'Jane Austen wrote about marriage and manners in England.',
 'A good mystery novel hides clues in plain sight.',
 'Tolstoy''s War and Peace follows families through the Napoleonic wars.',
 'Science fiction imagines how technology changes society.',
 'Libraries lend books to anyone with a library card.',
 'Homer''s Odyssey tells of a long voyage home after the Trojan War.',
 'A short story can be read in a single sitting.',
 'Fairy tales were collected by the Brothers Grimm.',
 'Reading before bed helps many people relax.',
 'Orwell''s Nineteen Eighty-Four warns about surveillance.',
 'Translators carry books from one language into another.',
 'A haiku has three lines of five, seven and five syllables.']),
('coffee and tea', ARRAY[
 'Alice met Bob at the coffee shop on Friday.',
 'Bob ordered a large coffee and a croissant.',
 'Espresso is made by forcing hot water through fine coffee grounds.',
 'Green tea is steamed or pan fried to stop oxidation.',
 'Coffee beans are the roasted seeds of a cherry-like fruit.',
 'A cappuccino has equal parts espresso, steamed milk and foam.',
 'Black tea is fully oxidised before it is dried.',
 'Too much coffee late in the day can ruin your sleep.',
 'Ethiopia is often called the birthplace of coffee.',
 'Matcha is powdered green tea whisked with water.',
 'Cold brew coffee steeps in cold water for many hours.',
 'Tea ceremonies in Japan follow careful rituals.',
 'A French press lets coffee grounds steep before pressing.',
 'Alice likes green tea with a slice of lemon.',
 'Baristas grind coffee just before brewing for the best flavour.'])
) AS t(topic, sentences)
CROSS JOIN LATERAL unnest(t.sentences) WITH ORDINALITY AS s(sentence, n);

-- remember every sentence; occurred_at spreads them over the last 30 days
SELECT count(*) AS remembered
FROM (SELECT engram.remember(d.sentence, engram.embed_text(d.sentence),
                             confidence => (0.6 + 0.4 * ((d.n % 5) / 4.0))::real,
                             space => 'demo',
                             metadata => jsonb_build_object('topic', d.topic),
                             occurred_at => now() - make_interval(days => (d.n * 2) % 30))
      FROM demo_sentences d
      ORDER BY d.topic, d.n) r;

-- a few associations for spreading activation
SELECT engram.associate(a.id, b.id, 0.9)
FROM engram.memory a, engram.memory b
WHERE a.space = 'demo' AND b.space = 'demo'
  AND (a.content, b.content) IN (
	('Alice met Bob at the coffee shop on Friday.', 'Bob ordered a large coffee and a croissant.'),
	('Alice met Bob at the coffee shop on Friday.', 'Alice likes green tea with a slice of lemon.'),
	('Ocean tides are caused mainly by the gravity of the Moon.', 'The Moon orbits the Earth about once every twenty-seven days.'),
	('Volcanoes erupt when magma rises through the crust.', 'Mars has the tallest volcano in the solar system, Olympus Mons.'));

SELECT space, memories, episodic, with_embedding FROM engram.memory_stats WHERE space = 'demo';
SELECT metadata->>'topic' AS topic, count(*) FROM engram.memory WHERE space = 'demo'
GROUP BY 1 ORDER BY 1;

\echo
\echo == recall by text (websearch syntax, english stemming): 'volcano eruption'
SELECT left(content, 70) AS content, round(score::numeric, 3) AS score,
       round(similarity::numeric, 3) AS relevance, metadata->>'topic' AS topic
FROM engram.recall(NULL, 5, 'demo', cue_text => 'volcano eruption');

\echo == recall by text: 'write-ahead log'
SELECT left(content, 70) AS content, round(score::numeric, 3) AS score, metadata->>'topic' AS topic
FROM engram.recall(NULL, 5, 'demo', cue_text => 'write-ahead log');

\echo == recall by embedding: 'what makes bread dough rise'
SELECT left(content, 70) AS content, round(score::numeric, 3) AS score,
       round(similarity::numeric, 3) AS cosine, metadata->>'topic' AS topic
FROM engram.recall(engram.embed_text('what makes bread dough rise'), 5, 'demo');

\echo == recall by embedding: 'the moon and the ocean tides'
SELECT left(content, 70) AS content, round(score::numeric, 3) AS score,
       round(similarity::numeric, 3) AS cosine, metadata->>'topic' AS topic
FROM engram.recall(engram.embed_text('the moon and the ocean tides'), 5, 'demo');

\echo == hybrid (embedding + text, reciprocal rank fusion): 'trains across Europe at night' / 'train'
SELECT left(content, 70) AS content, round(score::numeric, 3) AS score,
       round(similarity::numeric, 3) AS rrf, metadata->>'topic' AS topic
FROM engram.recall(engram.embed_text('trains across Europe at night'), 5, 'demo',
                   cue_text => 'train');

\echo == with spreading activation: 'croissant' brings in what is associated with it
SELECT left(content, 70) AS content, round(score::numeric, 3) AS score,
       round(activation::numeric, 3) AS activation
FROM engram.recall(NULL, 4, 'demo', cue_text => 'croissant', spread => true);

\echo == spreading activation itself: from the croissant memory along associations
SELECT left(m.content, 60) AS content, round(s.activation::numeric, 3) AS activation, s.hops
FROM engram.spread(ARRAY(SELECT id FROM engram.memory
                         WHERE space = 'demo' AND content LIKE 'Bob ordered%')) s
JOIN engram.memory m ON m.id = s.id;

\echo == only confident memories (confidence >= 0.9): 'coffee'
SELECT left(content, 70) AS content, round(confidence::numeric, 2) AS confidence
FROM engram.recall(engram.embed_text('coffee'), 5, 'demo', min_confidence => 0.9);

\echo
\echo == tiers: memories live in the engram table access method; move them all to the cold tier
SELECT direction, rows FROM engram.migrate('engram.memory', NULL, 'cold') WHERE rows > 0;
SELECT tier, rows, body_bytes, raw_bytes, round(body_ratio::numeric, 2) AS body_ratio
FROM engram.tier_stats('engram.memory') ORDER BY tier;

\echo == recall reads cold memories back unchanged (tier column shows where each lives)
SELECT left(content, 60) AS content, round(score::numeric, 3) AS score, tier
FROM engram.recall(engram.embed_text('ocean tides and the moon'), 3, 'demo');

\echo == recalled memories are used again: one migration pass brings them back to the hot tier
SELECT direction, rows FROM engram.migrate('engram.memory') WHERE rows > 0;
SELECT tier, rows FROM engram.tier_stats('engram.memory') ORDER BY tier;

\echo == engram.verify checks every page, slot, tier pointer and chunk checksum (no rows = clean)
SELECT count(*) AS problems FROM engram.verify('engram.memory');

\echo == an approximate nearest-neighbour index (engram_hnsw) serves the same recall
CREATE INDEX IF NOT EXISTS memory_embedding_hnsw ON engram.memory
	USING engram_hnsw (embedding engram.vector_cosine_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT id FROM engram.memory
ORDER BY embedding OPERATOR(engram.<=>) (SELECT engram.embed_text('tides')) LIMIT 5;
SELECT left(content, 60) AS content
FROM engram.memory ORDER BY embedding OPERATOR(engram.<=>) engram.embed_text('ocean tides and the moon') LIMIT 3;
RESET enable_seqscan;

\echo
\echo == memories change: update with history, supersede (the old fact stays, invalid from a time)
SELECT engram.update_memory(id, content => 'Alice met Bob at the coffee shop on Friday morning.',
                            embedding => engram.embed_text('Alice met Bob at the coffee shop on Friday morning.'))
       AS version
FROM engram.memory WHERE space = 'demo' AND content = 'Alice met Bob at the coffee shop on Friday.';
SELECT version, left(content, 60) AS content, replaced_by, is_current
FROM engram.history((SELECT id FROM engram.memory WHERE space = 'demo' AND content LIKE 'Alice met Bob%'));
SELECT engram.supersede(id, 'Alice likes black tea now, without lemon.',
                        embedding => engram.embed_text('Alice likes black tea now, without lemon.')) > 0 AS superseded
FROM engram.memory WHERE space = 'demo' AND content = 'Alice likes green tea with a slice of lemon.';
\echo == validity in time: what is true now, and what was true an hour ago (event time)
SELECT left(content, 50) AS content, engram.valid_at(valid_from, valid_to) AS valid_now,
       engram.valid_at(valid_from, valid_to, now() - interval '1 hour') AS valid_an_hour_ago,
       superseded_by IS NOT NULL AS superseded
FROM engram.memory WHERE space = 'demo' AND content LIKE 'Alice likes%' ORDER BY id;

\echo == keys and namespaces (LangGraph-style store): put twice, get, list by prefix
SELECT engram.put('demo', 'prefs', 'Alice prefers trains to planes.', namespace => '{users,alice}',
                  metadata => '{"travel": "train"}') > 0 AS put;
SELECT engram.put('demo', 'prefs', 'Alice prefers night trains.', namespace => '{users,alice}',
                  metadata => '{"travel": "night train"}') > 0 AS put_again;
SELECT engram.put('demo', 'prefs', 'Bob prefers to fly.', namespace => '{users,bob}') > 0 AS put_bob;
SELECT content, metadata, version FROM engram.get('demo', 'prefs', '{users,alice}');
SELECT * FROM engram.list_namespaces('{users}', 'demo');

\echo == expiry: a sliding TTL for the space, one memory already past its fixed expiry, expire()
SELECT engram.set_space_ttl('demo', '30 days');
SELECT engram.remember('The parking code this week is 4711.', space => 'demo') AS parking \gset
SELECT ttl FROM engram.memory WHERE id = :parking;
SELECT engram.set_expiry(:parking, expires_at => now() - interval '1 minute');
SELECT engram.expire('demo') AS expired;
SELECT engram.set_space_ttl('demo', NULL);

\echo == core memory blocks (always in the prompt, edited in place with history)
SELECT engram.set_block('demo', 'persona', 'I am a helpful assistant who knows trivia.', "limit" => 200);
SELECT engram.set_block('demo', 'human', 'Name: Alice.');
SELECT engram.append_block('demo', 'human', 'Likes: black tea, night trains.') IS NOT NULL AS appended;
SELECT label, value FROM engram.core_blocks('demo');
SELECT version, value, replaced_by FROM engram.block_history('demo', 'human');
